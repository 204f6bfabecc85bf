# COLT on Pascal VOC07+12 with Faster R-CNN R-50 FPN (mmdet's VOC schedule): the user's main job.
#   python tools/train.py configs/colt_faster_rcnn_voc.py
# Data: data/VOCdevkit/VOC2007 and data/VOCdevkit/VOC2012 (standard VOCdevkit layout).
# theta0 of the backbone: random (init_cfg=None) unless you point backbone.init_cfg at a local
# checkpoint, e.g. --cfg-options model.backbone.init_cfg.type=Pretrained \
#     model.backbone.init_cfg.checkpoint=/path/resnet50.pth  (nothing is ever downloaded).
_base_ = [
    './_base_/det_runtime.py', 'mmdet::_base_/models/faster-rcnn_r50_fpn.py',
    './_base_/voc0712.py'
]
model = dict(
    backbone=dict(init_cfg=None),
    roi_head=dict(bbox_head=dict(num_classes=20)),
    train_cfg=dict(rpn=dict(assigner=dict(ignore_iof_thr=0.5)),
                   rcnn=dict(assigner=dict(ignore_iof_thr=0.5))))
# mmdet's VOC schedule: 4 epochs over RepeatDataset(times=3), lr step after epoch 3
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=4, val_interval=4)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001))
param_scheduler = [dict(type='MultiStepLR', begin=0, end=4, by_epoch=True, milestones=[3],
                        gamma=0.1)]
auto_scale_lr = dict(enable=False, base_batch_size=16)
colt = dict(
    method='colt', task='det', num_partitions=2, partition_scheme='contiguous',
    partition_policy='ignore', prune_ratio=0.2, prune_scope='global', target_sparsity=0.89,
    max_rounds=15, prunable=dict(include=['backbone.*'], conv=True), seed=0)
work_dir = 'work_dirs/colt_faster_rcnn_voc'
