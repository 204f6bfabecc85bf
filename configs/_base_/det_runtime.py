# Runtime shared by the detection configs (MMDetection 3.x on MMEngine).
# MMDetection's scope; colt_det's types are named with theirs: type='colt_det.ColtVOCMetric'
default_scope = 'mmdet'
# distributed backend: tools/train.py --launcher picks nccl with GPUs and gloo without
env_cfg = dict(cudnn_benchmark=False, mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0))
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=1),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='DetVisualizationHook'))
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='DetLocalVisualizer', vis_backends=vis_backends)
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=True)
# MMEngine's logs of every search stage go to its log file (<stage>/<timestamp>/*.log) at this
# level; the console shows warnings and the search's [colt] progress lines
log_level = 'INFO'
load_from = None
resume = False
