# IMP / Lottery Ticket baseline for configs/colt_smallconv_demo.py: same model, data, seed
# (so the same theta0) and per-round training budget; N=1 on all classes.
_base_ = ['./colt_smallconv_demo.py']
colt = dict(method='imp', num_partitions=1)
work_dir = 'work_dirs/lth_smallconv_demo'
