# The hard detection benchmark from the 32-epoch pretraining (configs/
# pretrain_tvresnet18_hard_cls_32ep.py) instead of the 16-epoch one: a stronger theta0 lifts
# dense mAP@0.5 towards the calibration band (docs/benchmarks.md §8, E rows). Run with
#   benchmarks/search_cost.py --task det-hard --config configs/colt_faster_rcnn_hard_pretrained32.py
_base_ = ['./colt_faster_rcnn_hard_pretrained.py']
# the config that trains init_ticket when it is missing (benchmarks/search_cost.py)
pretrain_config = 'configs/pretrain_tvresnet18_hard_cls_32ep.py'
colt = dict(init_ticket=dict(
    path='work_dirs/pretrain_tvresnet18_hard_cls_32ep/tickets/final.safetensors'))
work_dir = 'work_dirs/colt_faster_rcnn_hard_pretrained32'
