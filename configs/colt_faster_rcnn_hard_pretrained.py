# COLT on the hard detection set from a pretrained theta0: the backbone trained by
# configs/pretrain_tvresnet18_hard_cls.py (16 epochs), rewound to those pretrained weights in
# every round (issue #13, item 3). The benchmark's default is its 32-epoch variant,
# configs/colt_faster_rcnn_hard_pretrained32.py (docs/benchmarks/det_hard.md).
_base_ = ['./colt_faster_rcnn_hard.py']
# the config that trains init_ticket (benchmarks/search_cost runs it when it is missing)
pretrain_config = 'configs/pretrain_tvresnet18_hard_cls.py'
# fine-tuned the way mmdet fine-tunes a pretrained ResNet (its R-50 configs): BatchNorm
# statistics frozen at the pretrained ones (norm_eval; the affine parameters still train) and
# the stem + layer1 frozen (frozen_stages=1; their masks still apply)
model = dict(backbone=dict(norm_eval=True, frozen_stages=1))
colt = dict(init_ticket=dict(
    path='work_dirs/pretrain_tvresnet18_hard_cls/tickets/final.safetensors', mode='trained',
    key_map={'backbone.': 'backbone.'}))
work_dir = 'work_dirs/colt_faster_rcnn_hard_pretrained'
