# The channel-ticket benchmark's config (benchmarks/channel_tickets.py): det-hard's pretrained
# theta0 (configs/colt_faster_rcnn_hard_pretrained32.py) with the stem and layer1 trained
# (frozen_stages=-1), so deep channel groups reach them too. Frozen, they hold about 0.37 of
# the backbone's MACs at 128 px that no channel ticket could remove (docs/benchmarks/channels.md).
_base_ = ['./colt_faster_rcnn_hard_pretrained32.py']
model = dict(backbone=dict(frozen_stages=-1))
work_dir = 'work_dirs/colt_faster_rcnn_hard_channels'
