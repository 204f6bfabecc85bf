# COLT (N=2, p=0.2) on the demo shape classes with a small conv net: runs on a laptop CPU.
_base_ = ['./_base_/cls_runtime.py', './_base_/cls_demo_data.py']
model = dict(type='ImageClassifier', backbone=dict(type='SmallConvNet'), num_classes=10)
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=5e-4))
# the lr above is for this total batch; tools/train.py --auto-scale-lr rescales it
auto_scale_lr = dict(enable=False, base_batch_size=64)
param_scheduler = [dict(type='CosineAnnealingLR', T_max=4, by_epoch=True)]
# per-stage schedule: every partition training and the final training
train_cfg = dict(by_epoch=True, max_epochs=4, val_interval=4)
colt = dict(
    method='colt', task='cls', num_partitions=2, partition_scheme='contiguous',
    prune_ratio=0.2, prune_scope='global', target_sparsity=0.85, max_rounds=20,
    # conv weights of the backbone; the linear head is never pruned by default
    prunable=dict(include=['backbone.*'], conv=True, linear=False), seed=0)
work_dir = 'work_dirs/colt_smallconv_demo'
