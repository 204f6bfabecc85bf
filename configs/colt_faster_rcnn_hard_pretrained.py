# COLT on the hard detection set from a pretrained theta0: the backbone trained by
# configs/pretrain_tvresnet18_hard_cls.py (run it first), rewound to those pretrained weights in
# every round (issue #13, item 3).
_base_ = ['./colt_faster_rcnn_hard.py']
colt = dict(init_ticket=dict(
    path='work_dirs/pretrain_tvresnet18_hard_cls/tickets/final.safetensors', mode='trained',
    key_map={'backbone.': 'backbone.'}))
work_dir = 'work_dirs/colt_faster_rcnn_hard_pretrained'
