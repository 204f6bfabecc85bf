# Pascal VOC07+12 trainval for training, VOC07 test for evaluation: mmdet's VOC settings with
# CheckedVOCDataset (stops on unknown class names / malformed XML instead of skipping them).
data_root = 'data/VOCdevkit/'
dataset_name = 'voc0712'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(1000, 600), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(1000, 600), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
_voc = dict(type='colt_det.CheckedVOCDataset', data_root=data_root,
            filter_cfg=dict(filter_empty_gt=True, min_size=32, bbox_min_size=32),
            pipeline=train_pipeline)
train_dataloader = dict(
    batch_size=2, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(
        type='RepeatDataset', times=3,
        dataset=dict(
            type='ConcatDataset',
            # the two VOCDatasets differ in metainfo['dataset_type']
            ignore_keys=['dataset_type'],
            datasets=[
                dict(_voc, ann_file='VOC2007/ImageSets/Main/trainval.txt',
                     data_prefix=dict(sub_data_root='VOC2007/')),
                dict(_voc, ann_file='VOC2012/ImageSets/Main/trainval.txt',
                     data_prefix=dict(sub_data_root='VOC2012/')),
            ])))
val_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='colt_det.CheckedVOCDataset', data_root=data_root,
                 ann_file='VOC2007/ImageSets/Main/test.txt',
                 data_prefix=dict(sub_data_root='VOC2007/'), test_mode=True,
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
# VOC2007 test: 11-point AP (eval_mode='area' for VOC2012-style evaluation)
val_evaluator = dict(type='colt_det.ColtVOCMetric', metric='mAP', eval_mode='11points')
test_evaluator = val_evaluator
