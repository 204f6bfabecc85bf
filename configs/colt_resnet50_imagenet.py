# COLT on ImageNet (ImageFolder under data/imagenet/{train,val}) with a torchvision-layout
# ResNet-50. Its tickets (backbone.* names = mmdet ResNet names) initialise detector backbones.
_base_ = ['./_base_/cls_runtime.py']
data_root = 'data/imagenet'
dataset_name = 'imagenet'
_train = dict(type='ImageFolderCls', root=data_root, split='train', img_size=224,
              train_aug=True, norm='imagenet')
train_dataloader = dict(
    batch_size=256, num_workers=8, sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(_train, subset='train', holdout=0.01))
val_dataloader = dict(
    batch_size=256, num_workers=8, sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(_train, train_aug=False, subset='val', holdout=0.01))
# ImageNet's labelled "val" is the held-out test set here
test_dataloader = dict(
    batch_size=256, num_workers=8, sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='ImageFolderCls', root=data_root, split='val', img_size=224,
                 norm='imagenet'))
model = dict(type='ImageClassifier', backbone=dict(type='TVResNet', depth=50), num_classes=1000)
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4))
# the lr above is for this total batch; tools/train.py --auto-scale-lr rescales it
auto_scale_lr = dict(enable=False, base_batch_size=256)
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[30, 60], gamma=0.1)]
train_cfg = dict(by_epoch=True, max_epochs=90, val_interval=5)
colt = dict(
    method='colt', task='cls', num_partitions=2, partition_scheme='contiguous',
    prune_ratio=0.2, prune_scope='global', target_sparsity=0.89, max_rounds=15,
    prunable=dict(include=['backbone.*'], conv=True), seed=0, rewind_iter=0)
work_dir = 'work_dirs/colt_resnet50_imagenet'
