# The classification ("ImageNet") ticket of configs/colt_tvresnet18_hard_cls_ticket.py searched
# from the 32-epoch pretraining (configs/pretrain_tvresnet18_hard_cls_32ep.py), the theta0 of
# the default hard detection benchmark (configs/colt_faster_rcnn_hard_pretrained32.py). Its
# round ticket is retrained on that detector with
#   tools/train.py configs/colt_faster_rcnn_hard_pretrained32.py \
#       --cfg-options colt.method=mask colt.num_partitions=1 \
#       colt.mask_from=<work_dir>/tickets/round_03.safetensors
_base_ = ['./colt_tvresnet18_hard_cls_ticket.py']
pretrain_config = 'configs/pretrain_tvresnet18_hard_cls_32ep.py'
colt = dict(init_ticket=dict(
    path='work_dirs/pretrain_tvresnet18_hard_cls_32ep/tickets/final.safetensors'))
work_dir = 'work_dirs/colt_tvresnet18_hard_cls_ticket32'
