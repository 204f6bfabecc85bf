# The generated demo ImageFolder set (tools/make_demo_data.py writes it on first use).
data_root = 'data/demo/cls'
dataset_name = 'demo_shapes10'
_train = dict(type='ImageFolderCls', root=data_root, split='train', img_size=32, norm='half',
              train_aug=True, crop_pad=2)
train_dataloader = dict(
    batch_size=64, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'), dataset=_train)
# model selection on a validation split (never on test)
val_dataloader = dict(
    batch_size=256, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='ImageFolderCls', root=data_root, split='val', img_size=32, norm='half'))
test_dataloader = dict(
    batch_size=256, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='ImageFolderCls', root=data_root, split='test', img_size=32, norm='half'))
demo_data = 'cls'
