# CIFAR-10 from the binary on-disk format under data/cifar (cifar-10-batches-bin/); no download.
data_root = 'data/cifar'
dataset_name = 'cifar10'
_common = dict(type='CIFARCls', root=data_root, num_classes=10)
train_dataloader = dict(
    batch_size=128, num_workers=4, sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(**_common, split='train', subset='train', holdout=0.1, train_aug=True))
# model selection on 10% of train, never on test
val_dataloader = dict(
    batch_size=512, num_workers=4, sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(**_common, split='train', subset='val', holdout=0.1))
test_dataloader = dict(
    batch_size=512, num_workers=4, sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'), dataset=dict(**_common, split='test'))
