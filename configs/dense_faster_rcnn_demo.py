# Dense reference for configs/colt_faster_rcnn_demo.py: same theta0 and final schedule, no pruning.
_base_ = ['./colt_faster_rcnn_demo.py']
colt = dict(method='dense', num_partitions=1)
work_dir = 'work_dirs/dense_faster_rcnn_demo'
