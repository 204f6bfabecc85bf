# COLT (N=2) on the hard generated VOC-format set (colt_det/hard_voc.py, made on first use: 20
# shape classes whose colour carries no class, 10-80 px objects with occlusion, truncation,
# tilt (<= 20 deg), stretching, deformation and textured fills, cluttered backgrounds with
# distractors, 'difficult' flags; 800 trainval / 200 test images of 128x128) with the slim
# Faster R-CNN on a half-width ResNet-18 (base 32 channels: 2.8M backbone weights, a CPU-sized
# stand-in whose 80% tickets have 0.56M left): the detection benchmark where masks have to make
# a difference. Calibration: docs/benchmarks/det_hard.md.
_base_ = ['./colt_faster_rcnn_demo.py']
demo_data = 'det_hard'
data_root = 'data/demo/voc_hard/VOCdevkit/'
dataset_name = 'hard_voc_shapes20'
classes = ('circle', 'square', 'triangle', 'diamond', 'cross', 'ring', 'hbar', 'vbar', 'star',
           'chevron', 'pentagon', 'hexagon', 'arrow', 'tee', 'ell', 'trapezoid', 'crescent',
           'semicircle', 'frame', 'xshape')
_resize = dict(type='Resize', scale=(128, 128), keep_ratio=True)
train_pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True),
                  _resize, dict(type='RandomFlip', prob=0.5), dict(type='PackDetInputs')]
test_pipeline = [dict(type='LoadImageFromFile'), _resize,
                 dict(type='LoadAnnotations', with_bbox=True),
                 dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape',
                                                       'img_shape', 'scale_factor'))]
_data = dict(data_root=data_root, metainfo=dict(classes=classes))
train_dataloader = dict(dataset=dict(_data, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(_data, pipeline=test_pipeline))
test_dataloader = val_dataloader
model = dict(backbone=dict(base_channels=32), neck=dict(in_channels=[32, 64, 128, 256]),
             roi_head=dict(bbox_head=dict(num_classes=20)),
             rpn_head=dict(anchor_generator=dict(scales=[2, 4, 8])),
             # 3-7 objects per image: 150 proposals and 32 RoIs per image suffice (the RoIAlign
             # backward and the proposal NMS were ~40% of a CPU step with 300 and 64)
             train_cfg=dict(rpn_proposal=dict(nms_pre=300, max_per_img=150),
                            rcnn=dict(sampler=dict(num=32))))
# a search round trains 1 epoch per stage (the mask of a round re-ranks theta0's weights by
# where one epoch moved them; the partition stages are not validated: nothing reads it)
train_cfg = dict(max_epochs=1, val_begin=2)  # val_begin > max_epochs: no validation
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', by_epoch=True, milestones=[5], gamma=0.1),  # final training only
]
# equal budgets: a partition epoch draws 1/N of the training set, so a COLT round processes as
# many images as an IMP round (with 3-7 objects of 20 classes per image nearly every image holds
# a class of each partition)
# the final training is tested, not validated: the val split is the test split here
colt = dict(max_rounds=4, final_train_cfg=dict(max_epochs=6, val_interval=6, val_begin=7),
            progress_interval=50, partition_budget='equal')
work_dir = 'work_dirs/colt_faster_rcnn_hard'
