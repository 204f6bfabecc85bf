"""The benchmark's matrix: tasks (config, targets, methods) and what every method runs."""

DEFAULTS = {
    'cls': dict(config='configs/colt_smallconv_demo.py', targets=[0.6, 0.8, 0.89, 0.95],
                methods=['colt-N2', 'colt-N3', 'colt-N4', 'imp', 'imp-matched', 'random',
                         'colt-N2-layer', 'colt-N3-k2', 'dense']),
    # a second generated classification set (item 5 of issue #13): the options chosen on the
    # demo set (layer-wise, movement) reported where they were not chosen
    'cls-hard': dict(config='configs/colt_smallconv_hard_cls.py', targets=[0.6, 0.8, 0.89],
                     methods=['colt-N2', 'imp', 'imp-matched', 'random', 'colt-N2-layer',
                              'colt-N2-movement', 'dense']),
    'det': dict(config='configs/colt_faster_rcnn_demo.py', targets=[0.8],
                methods=['colt-N2', 'imp', 'imp-matched', 'random', 'colt-N2-layer', 'dense']),
    # theta0: the 32-epoch pretraining (the config's pretrain_config, trained first where it is
    # missing); work dirs and results are named after it, apart from those of the 16-epoch
    # theta0 (configs/colt_faster_rcnn_hard_pretrained.py: bench_det-hard, search_cost_det-hard)
    'det-hard': dict(config='configs/colt_faster_rcnn_hard_pretrained32.py', targets=[0.8],
                     name='det-hard_pre32',
                     methods=['colt-N2', 'colt-N2-layer', 'colt-N2-unscaled', 'imp',
                              'imp-matched', 'random', 'oneshot', 'dense'],
                     scratch='configs/colt_faster_rcnn_hard.py',
                     # movement cannot rank the frozen stem and layer1 (frozen_stages=1): they
                     # stay dense, 1.5% of the backbone's weights (search and final alike)
                     method_options={'colt-N2-movement': dict(prunable=dict(
                         include=['backbone.*'],
                         exclude=['backbone.conv1.*', 'backbone.layer1.*']))}),
}
SEARCH_METHODS = {
    'colt-N2': dict(method='colt', num_partitions=2),
    'colt-N3': dict(method='colt', num_partitions=3),
    'colt-N4': dict(method='colt', num_partitions=4),
    'imp': dict(method='imp', num_partitions=1),
    'colt-N2-layer': dict(method='colt', num_partitions=2, prune_scope='layer'),
    'colt-N2-unscaled': dict(method='colt', num_partitions=2, partition_budget='full'),
    'colt-N3-k2': dict(method='colt', num_partitions=3, min_keep=2),
    'colt-N2-movement': dict(method='colt', num_partitions=2, weight_score='movement'),
    # the lottery-ticket protocol: every round trains the final schedule (colt.round_train_cfg =
    # the config's final_train_cfg) instead of the config's short train_cfg
    'colt-N2-full': dict(method='colt', num_partitions=2, schedule='full'),
    'imp-full': dict(method='imp', num_partitions=1, schedule='full'),
    # full rounds that stop once their mask converged (Early-Bird's rule, colt.early_stop)
    'colt-N2-early': dict(method='colt', num_partitions=2, schedule='full',
                          early_stop=dict(interval=25, eps=0.015, patience=2)),
    'imp-early': dict(method='imp', num_partitions=1, schedule='full',
                      early_stop=dict(interval=25, eps=0.015, patience=2)),
    # the layer-collapse guard: every layer keeps >= 1% of its weights
    'colt-N2-full-guard': dict(method='colt', num_partitions=2, schedule='full',
                               min_density=0.01),
    'imp-full-guard': dict(method='imp', num_partitions=1, schedule='full', min_density=0.01),
}
# methods that find their mask in at most one training (no rounds), trained once per target
ONE_TRAINING = {
    'oneshot': dict(method='oneshot'),  # theta0 magnitude-pruned once (then trained)
    'oneshot-guard': dict(method='oneshot', min_density=0.01),
    # gradual magnitude pruning during the final schedule: its own weights are the ticket
    'gmp': dict(method='gmp'),
    'gmp-guard': dict(method='gmp', min_density=0.01),
}
# a one-training method's mask retrained from theta0 with the final schedule
REWOUND = {'gmp-rewind': 'gmp', 'gmp-guard-rewind': 'gmp-guard'}
COLLAPSED = 0.999  # a layer this sparse is (nearly) cut: no signal passes through it
# a round within this much of a target reaches it (IMP at p=0.45 prunes to 94.97% in 5 rounds:
# that is its 95% ticket, not the 97.2% of round 6); the table shows the exact sparsity
REACH_TOLERANCE = 0.0005


def known_methods() -> set:
    return (set(SEARCH_METHODS) | set(ONE_TRAINING) | set(REWOUND)
            | {'imp-matched', 'random', 'dense', 'dense-scratch'})


def reaches(sparsity: float, target: float) -> bool:
    return sparsity >= target - REACH_TOLERANCE


def resolve_schedule(colt: dict, base) -> dict:
    """A method's colt options with ``schedule='full'`` made concrete: its rounds train the
    config's final schedule."""
    colt = dict(colt)
    if colt.pop('schedule', 'short') == 'full':
        colt['round_train_cfg'] = dict(base.colt.final_train_cfg or {})
    return colt
