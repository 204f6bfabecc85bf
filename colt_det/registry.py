"""colt_det's registry nodes: children of MMEngine's root registries under the scope 'colt_det'.

As in MMDetection (``mmdet/registry.py``), every node names the modules that fill it
(``locations``), so MMEngine imports them the first time a ``colt_det`` type is looked up:
``import colt_det`` registers nothing and imports neither MMDetection nor mmcv.

Configs reach these types in one of two ways:
- ``default_scope = 'colt_det'`` (the classification configs): plain names (``'SmallConvNet'``)
  are looked up here first, then in MMEngine's root registries;
- any other default scope (``'mmdet'`` for detection): the scoped name,
  ``type='colt_det.ColtHook'``.
A type registered here never collides with one of the same name in another package (e.g.
mmpretrain's ``ImageClassifier``).
"""
from mmengine import registry as root
from mmengine.registry import Registry

_CLS = ['colt_det.tasks.cls.datasets', 'colt_det.tasks.cls.models']
_DET = ['colt_det.tasks.det.datasets', 'colt_det.tasks.det.metrics']


def _node(name: str, parent: Registry, locations=()) -> Registry:
    return Registry(name, parent=parent, scope='colt_det', locations=list(locations))


HOOKS = _node('hook', root.HOOKS, [f'colt_det.hooks.{m}' for m in (
    'mask_hook', 'prune_hook', 'finite_loss_hook', 'seed_hook', 'record_hook', 'colt_hook',
    'gmp_hook', 'mask_convergence_hook', 'progressive_hook', 'distill_hook')])
DATASETS = _node('dataset', root.DATASETS, _CLS + _DET)
MODELS = _node('model', root.MODELS, ['colt_det.tasks.cls.models', 'colt_det.deploy.slim'])
METRICS = _node('metric', root.METRICS, ['colt_det.tasks.cls.metrics',
                                         'colt_det.tasks.det.metrics'])
# colt_det's own extension points beside MMEngine's (docs/architecture.md: where to add one)
# the task-specific half of a search (colt_det.tasks.base.Task), one subpackage per task
TASKS = Registry('colt task', scope='colt_det',
                 locations=['colt_det.tasks.cls.task', 'colt_det.tasks.det.task'])
# how a search finds the mask its final stage trains (colt_det.search.method.Method)
METHODS = Registry('colt method', scope='colt_det',
                   locations=['colt_det.methods.rounds', 'colt_det.methods.baselines',
                              'colt_det.methods.gmp', 'colt_det.methods.progressive',
                              'colt_det.methods.torch_pruning'])

# the rest mirror MMEngine's nodes, so building anything under default_scope='colt_det' finds
# its registry (MMEngine warns and falls back to the root otherwise)
RUNNERS = _node('runner', root.RUNNERS)
RUNNER_CONSTRUCTORS = _node('runner constructor', root.RUNNER_CONSTRUCTORS)
LOOPS = _node('loop', root.LOOPS, ['colt_det.runtime.loops'])
DATA_SAMPLERS = _node('data sampler', root.DATA_SAMPLERS, ['colt_det.runtime.samplers'])
TRANSFORMS = _node('transform', root.TRANSFORMS)
MODEL_WRAPPERS = _node('model_wrapper', root.MODEL_WRAPPERS)
WEIGHT_INITIALIZERS = _node('weight initializer', root.WEIGHT_INITIALIZERS)
OPTIMIZERS = _node('optimizer', root.OPTIMIZERS)
OPTIM_WRAPPERS = _node('optim_wrapper', root.OPTIM_WRAPPERS)
OPTIM_WRAPPER_CONSTRUCTORS = _node('optimizer constructor', root.OPTIM_WRAPPER_CONSTRUCTORS)
PARAM_SCHEDULERS = _node('parameter scheduler', root.PARAM_SCHEDULERS)
EVALUATOR = _node('evaluator', root.EVALUATOR)
TASK_UTILS = _node('task util', root.TASK_UTILS)
VISUALIZERS = _node('visualizer', root.VISUALIZERS)
VISBACKENDS = _node('vis_backend', root.VISBACKENDS)
LOG_PROCESSORS = _node('log_processor', root.LOG_PROCESSORS)
FUNCTIONS = _node('function', root.FUNCTIONS)
STRATEGIES = _node('strategy', root.STRATEGIES)
INFERENCERS = _node('inferencer', root.INFERENCERS)
