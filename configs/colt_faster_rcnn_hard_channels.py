# The channel-ticket benchmark's config (benchmarks/channel_tickets.py): det-hard's pretrained
# theta0 (configs/colt_faster_rcnn_hard_pretrained32.py) with the stem and layer1 trained
# (frozen_stages=-1), so deep channel groups reach them too. Frozen, their MACs (the highest
# resolutions) are a floor no channel ticket could go below (docs/benchmarks/channels.md).
_base_ = ['./colt_faster_rcnn_hard_pretrained32.py']
model = dict(backbone=dict(frozen_stages=-1))
work_dir = 'work_dirs/colt_faster_rcnn_hard_channels'
