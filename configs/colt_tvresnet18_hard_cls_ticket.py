# The "ImageNet ticket" of the hard detection benchmark (issue #13, item 3): COLT N=2 on the
# hard classification set from the pretrained half-width ResNet-18 (configs/
# pretrain_tvresnet18_hard_cls.py), rewound to the pretrained weights every round, to 80% at
# p=0.45 (1 epoch per partition stage, no final training). Its round ticket (mask + pretrained
# values, mmdet ResNet names) is retrained on the detector with
#   tools/train.py configs/colt_faster_rcnn_hard_pretrained.py \
#       --cfg-options colt.method=mask colt.mask_from=<work_dir>/tickets/round_03.safetensors
# IMP: --cfg-options colt.method=imp colt.num_partitions=1 (docs/benchmarks/det_hard.md).
_base_ = ['./pretrain_tvresnet18_hard_cls.py']
train_cfg = dict(max_epochs=1, val_begin=2)  # val_begin > max_epochs: no validation
_pretrained = 'work_dirs/pretrain_tvresnet18_hard_cls/tickets/final.safetensors'
pretrain_config = 'configs/pretrain_tvresnet18_hard_cls.py'  # trains _pretrained
colt = dict(method='colt', num_partitions=2, prune_ratio=0.45, target_sparsity=0.8,
            max_rounds=4, final_train=False, init_ticket=dict(path=_pretrained, mode='trained'))
work_dir = 'work_dirs/colt_tvresnet18_hard_cls_ticket'
