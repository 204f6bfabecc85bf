# Random-mask baseline for the demo detector: a random mask with the per-layer sparsity of the
# transferred classification ticket (configs/ticket_faster_rcnn_demo.py), same theta0 and schedule.
_base_ = ['./colt_faster_rcnn_demo.py']
colt = dict(method='random', num_partitions=1,
            random_from='work_dirs/colt_tvresnet18_demo_cls/tickets/final.safetensors')
work_dir = 'work_dirs/random_faster_rcnn_demo'
