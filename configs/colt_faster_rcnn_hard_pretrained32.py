# The hard detection benchmark's default config (benchmarks/search_cost --task det-hard):
# the 32-epoch pretraining (configs/pretrain_tvresnet18_hard_cls_32ep.py) as theta0 instead of
# the 16-epoch one, which lifts dense mAP@0.5 from 0.31 to 0.37 and widens the gap between
# magnitude and random masks (docs/benchmarks/det_hard.md, calibration).
_base_ = ['./colt_faster_rcnn_hard_pretrained.py']
# the config that trains init_ticket when it is missing (benchmarks/search_cost)
pretrain_config = 'configs/pretrain_tvresnet18_hard_cls_32ep.py'
colt = dict(init_ticket=dict(
    path='work_dirs/pretrain_tvresnet18_hard_cls_32ep/tickets/final.safetensors'))
work_dir = 'work_dirs/colt_faster_rcnn_hard_pretrained32'
