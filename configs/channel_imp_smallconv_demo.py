# Channel-level IMP baseline for configs/channel_colt_smallconv_demo.py (same theta0, N=1).
_base_ = ['./channel_colt_smallconv_demo.py']
colt = dict(method='imp', num_partitions=1)
work_dir = 'work_dirs/channel_imp_smallconv_demo'
