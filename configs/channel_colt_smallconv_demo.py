# Channel-level COLT on the classification demo (small conv net): whole channels of the first
# three convs are pruned; tools/export_ticket.py --slim makes the smaller network.
_base_ = ['./colt_smallconv_demo.py']
colt = dict(granularity='channel', prune_scope='layer', target_sparsity=0.6, prune_ratio=0.3)
work_dir = 'work_dirs/channel_colt_smallconv_demo'
