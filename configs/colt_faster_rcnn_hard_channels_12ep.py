# A probe of the channel-ticket benchmark (docs/benchmarks/channels.md): the same config with
# the final training twice as long (12 epochs, the step at 10), to see whether the mAP a slim
# ticket loses on det-hard is won back by fine-tuning longer. Dense is retrained with it too.
_base_ = ['./colt_faster_rcnn_hard_channels.py']
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', by_epoch=True, milestones=[10], gamma=0.1),  # final training only
]
colt = dict(final_train_cfg=dict(max_epochs=12, val_interval=12, val_begin=13))
work_dir = 'work_dirs/colt_faster_rcnn_hard_channels_12ep'
