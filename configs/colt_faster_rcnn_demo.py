# COLT (N=2) on the generated VOC-format demo data with a slim Faster R-CNN R-18: the README's
# main command (tools/demo.py) runs this and configs/dense_faster_rcnn_demo.py.
_base_ = ['./_base_/det_runtime.py', './_base_/faster_rcnn_r18_slim.py',
          './_base_/voc_demo.py']
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=1e-4),
                     clip_grad=dict(max_norm=10, norm_type=2))
# the lr above is for this total batch; tools/train.py --auto-scale-lr rescales it
auto_scale_lr = dict(enable=False, base_batch_size=8)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', by_epoch=True, milestones=[3], gamma=0.1),  # final training only
]
# the schedule of every partition training; the final training uses colt.final_train_cfg
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=2, val_interval=2)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
colt = dict(
    method='colt', task='det', num_partitions=2, partition_scheme='contiguous',
    partition_policy='ignore',
    # 3 rounds to >= 80% backbone sparsity on a CPU budget; the paper's p=0.2 is the default
    # of the full VOC config
    prune_ratio=0.45, prune_scope='global', target_sparsity=0.8, max_rounds=3,
    prunable=dict(include=['backbone.*'], conv=True), seed=0,
    final_train_cfg=dict(max_epochs=4, val_interval=4), progress_interval=25)
work_dir = 'work_dirs/colt_faster_rcnn_demo'
