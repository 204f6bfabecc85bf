# Runtime shared by the classification configs (MMEngine, CPU-friendly).
# colt_det's registry scope: its datasets/models/metrics by plain name, MMEngine's as well
default_scope = 'colt_det'
# distributed backend: tools/train.py --launcher picks nccl with GPUs and gloo without
env_cfg = dict(cudnn_benchmark=False)
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=20),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=1),
    sampler_seed=dict(type='DistSamplerSeedHook'))
# MMEngine's logs of every search stage go to its log file (<stage>/<timestamp>/*.log) at this
# level; the console shows warnings and the search's [colt] progress lines
log_level = 'INFO'
log_processor = dict(by_epoch=True)
val_evaluator = dict(type='TopKAccuracy')
test_evaluator = val_evaluator
val_cfg = dict()
test_cfg = dict()
