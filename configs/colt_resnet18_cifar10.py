# COLT (N=2, p=0.2) on CIFAR-10 with a CIFAR-style ResNet-18 (3x3 stem), to 89% sparsity.
_base_ = ['./_base_/cls_runtime.py', './_base_/cifar10.py']
model = dict(type='ImageClassifier', backbone=dict(type='CifarResNet', depth=18), num_classes=10)
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4))
# the lr above is for this total batch; tools/train.py --auto-scale-lr rescales it
auto_scale_lr = dict(enable=False, base_batch_size=128)
param_scheduler = [dict(type='CosineAnnealingLR', T_max=30, by_epoch=True)]
train_cfg = dict(by_epoch=True, max_epochs=30, val_interval=5)
colt = dict(
    method='colt', task='cls', num_partitions=2, partition_scheme='contiguous',
    prune_ratio=0.2, prune_scope='global', target_sparsity=0.89, max_rounds=20,
    prunable=dict(include=['backbone.*'], conv=True, linear=False), seed=0)
work_dir = 'work_dirs/colt_resnet18_cifar10'
