"""MMEngine's per-package convention: ``colt_det.utils.register_all_modules``.

MMEngine calls it for a ``colt_det`` registry node that has no import locations of its own (the
nodes that only mirror MMEngine's, e.g. runners) once ``colt_det`` is a known package (the
commands make it one for ``colt_det::`` configs); without it every run warned that colt_det
"is not installed". Every node with locations imports its own modules when first used.
"""


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every module that registers a colt_det type (hooks, datasets, models, metrics,
    loops, samplers); ``init_default_scope`` sets ``colt_det`` as MMEngine's default scope."""
    from . import registry
    for node in (registry.HOOKS, registry.DATASETS, registry.MODELS, registry.METRICS,
                 registry.LOOPS, registry.DATA_SAMPLERS):
        node.import_from_location()
    if init_default_scope:
        from mmengine.registry import DefaultScope
        if DefaultScope.get_current_instance() is None:
            DefaultScope.get_instance('colt_det', scope_name='colt_det')
