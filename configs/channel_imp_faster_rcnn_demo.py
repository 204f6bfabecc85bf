# Channel-level IMP baseline for configs/channel_colt_faster_rcnn_demo.py (same theta0, N=1).
_base_ = ['./channel_colt_faster_rcnn_demo.py']
colt = dict(method='imp', num_partitions=1)
work_dir = 'work_dirs/channel_imp_faster_rcnn_demo'
