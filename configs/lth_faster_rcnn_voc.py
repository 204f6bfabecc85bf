# IMP / Lottery Ticket baseline for configs/colt_faster_rcnn_voc.py (same theta0, N=1, all data).
_base_ = ['./colt_faster_rcnn_voc.py']
colt = dict(method='imp', num_partitions=1)
work_dir = 'work_dirs/lth_faster_rcnn_voc'
