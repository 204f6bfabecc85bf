# The channel benchmark's probe (configs/colt_faster_rcnn_hard_channels_12ep.py) at four times
# the final training: 24 epochs, the step at 20.
_base_ = ['./colt_faster_rcnn_hard_channels_12ep.py']
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', by_epoch=True, milestones=[20], gamma=0.1),  # final training only
]
colt = dict(final_train_cfg=dict(max_epochs=24, val_interval=24, val_begin=25))
work_dir = 'work_dirs/colt_faster_rcnn_hard_channels_24ep'
