# The demo detector initialised from a classification ticket (configs/colt_tvresnet18_demo_cls.py)
# with its mask kept fixed; compare with configs/dense_faster_rcnn_demo.py and the COLT demo.
_base_ = ['./colt_faster_rcnn_demo.py']
ticket_path = 'work_dirs/colt_tvresnet18_demo_cls/tickets/final.safetensors'
colt = dict(method='ticket', num_partitions=1,
            init_ticket=dict(path=ticket_path, mode='trained', key_map={'backbone.': 'backbone.'}))
work_dir = 'work_dirs/ticket_faster_rcnn_demo'
