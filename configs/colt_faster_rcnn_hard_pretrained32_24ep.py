# A probe of the high-sparsity benchmark (docs/benchmarks/high_sparsity.md): det-hard's final
# training four times as long (24 epochs, the step at 20). benchmarks/final_schedule.py retrains
# the tickets the 6-epoch benchmark found with it, beside dense, one-shot and GMP trained with
# it too: do the verdicts made at equal budget hold nearer convergence? The rounds of a search
# with this config would train 1 epoch per stage as before (full rounds: 24 epochs).
_base_ = ['./colt_faster_rcnn_hard_pretrained32.py']
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', by_epoch=True, milestones=[20], gamma=0.1),  # final training only
]
colt = dict(final_train_cfg=dict(max_epochs=24, val_interval=24, val_begin=25))
work_dir = 'work_dirs/colt_faster_rcnn_hard_pretrained32_24ep'
