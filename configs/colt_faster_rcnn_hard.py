# COLT (N=2) on the hard generated VOC-format set (configs/_base_/voc_hard.py) with the slim
# Faster R-CNN R-18 FPN: the detection benchmark where masks have to make a difference
# (benchmarks/search_cost.py --task det-hard). Calibration and results: docs/benchmarks.md.
_base_ = ['./_base_/det_runtime.py', './_base_/faster_rcnn_r18_slim.py',
          './_base_/voc_hard.py']
model = dict(roi_head=dict(bbox_head=dict(num_classes=20)),
             rpn_head=dict(anchor_generator=dict(scales=[2, 4, 8])))
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=1e-4),
                     clip_grad=dict(max_norm=10, norm_type=2))
auto_scale_lr = dict(enable=False, base_batch_size=8)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', by_epoch=True, milestones=[5], gamma=0.1),  # final training only
]
# every partition training; the final training uses colt.final_train_cfg
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=2, val_interval=2)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
colt = dict(
    method='colt', task='det', num_partitions=2, partition_scheme='contiguous',
    partition_policy='ignore', prune_ratio=0.45, prune_scope='global', target_sparsity=0.8,
    max_rounds=4, prunable=dict(include=['backbone.*'], conv=True), seed=0,
    final_train_cfg=dict(max_epochs=6, val_interval=6), progress_interval=50)
work_dir = 'work_dirs/colt_faster_rcnn_hard'
