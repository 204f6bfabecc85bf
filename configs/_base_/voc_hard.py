# The hard generated VOC-format set (colt_det/hard_voc.py, made on first use): 20 shape classes
# whose colour carries no class, 10-100 px objects with occlusion, truncation, rotation,
# stretching, deformation and textured fills, cluttered backgrounds with distractors, 'difficult'
# flags on tiny or mostly hidden objects; 800 trainval / 200 test images of 160x160.
demo_data = 'det_hard'
data_root = 'data/demo/voc_hard/VOCdevkit/'
dataset_name = 'hard_voc_shapes20'
classes = ('circle', 'square', 'triangle', 'diamond', 'cross', 'ring', 'hbar', 'vbar', 'star',
           'chevron', 'pentagon', 'hexagon', 'arrow', 'tee', 'ell', 'trapezoid', 'crescent',
           'semicircle', 'frame', 'xshape')
metainfo = dict(classes=classes)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(160, 160), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(160, 160), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(
    batch_size=8, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(type='colt_det.CheckedVOCDataset', data_root=data_root, metainfo=metainfo,
                 ann_file='VOC2007/ImageSets/Main/trainval.txt',
                 data_prefix=dict(sub_data_root='VOC2007/'),
                 filter_cfg=dict(filter_empty_gt=True), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8, num_workers=0, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='colt_det.CheckedVOCDataset', data_root=data_root, metainfo=metainfo,
                 ann_file='VOC2007/ImageSets/Main/test.txt',
                 data_prefix=dict(sub_data_root='VOC2007/'), test_mode=True,
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='colt_det.ColtVOCMetric', metric='mAP', eval_mode='11points')
test_evaluator = val_evaluator
