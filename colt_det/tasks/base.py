"""What differs between classification and detection searches, behind one small interface.

A task knows its metric, the class names of a config's dataset, how to restrict a config to one
partition's classes (and which partition policies it offers), how to evaluate a trained model,
and how to name the model and data in ticket metadata. The search itself is the same for every
task. Each task lives in its own subpackage (``colt_det/tasks/cls/task.py``,
``colt_det/tasks/det/task.py``) and registers itself in :data:`colt_det.registry.TASKS` under
the name ``colt.task`` uses; this module never imports them.
"""
import contextlib
import copy
import logging
import re
from typing import Dict, List, Optional, Tuple

from mmengine.config import Config
from mmengine.registry import MODELS, DefaultScope
from torch import nn

from ..errors import SearchError
from ..registry import TASKS
from ..runtime.evaluate import test_checkpoint


class Task:
    """The task-specific half of a search (subclass and register in ``TASKS`` to add one).

    Attributes:
        metric_key (str): the metric a search reports (``'pascal_voc/mAP'``).
        default_scope (str): the registry scope its configs build in.
        policies (tuple, optional): the ``colt.partition_policy`` values the task offers (what
            a partition does with other partitions' objects); None: the task has no policy.
    """

    name: str = 'task'
    metric_key: str = ''
    default_scope: str = 'colt_det'
    policies: Optional[tuple] = None

    @contextlib.contextmanager
    def scope(self, cfg: Config):
        """Build modules of ``cfg`` outside a Runner under the config's default scope."""
        with DefaultScope.overwrite_default_scope(cfg.get('default_scope')
                                                  or self.default_scope):
            yield

    def build_model(self, cfg: Config) -> nn.Module:
        """``cfg.model`` built under the config's scope, without MMEngine's INFO chatter. A key
        a module does not take (``model.backbone.init_cfg`` on a backbone without one) is a
        :class:`SearchError` naming the config key, not a TypeError from deep inside."""
        with self.scope(cfg), quiet_mmengine():
            try:
                return MODELS.build(copy.deepcopy(cfg.model))
            except TypeError as e:
                m = UNEXPECTED.search(str(e))
                where = m and _key_path(cfg.model, m.group(1), m.group(2), 'model')
                if not where:
                    raise
                raise SearchError(f'{where}: {m.group(1)} takes no argument '
                                  f'{m.group(2)!r}: remove it from the config') from None

    def class_names(self, cfg: Config) -> List[str]:
        raise NotImplementedError

    def restrict(self, cfg: Config, group: List[str], all_classes: List[str],
                 policy: str) -> None:
        """Change ``cfg`` in place so that it trains (and validates) on ``group`` only."""
        raise NotImplementedError

    def evaluate(self, cfg: Config, checkpoint: str, work_dir: Optional[str] = None,
                 **options) -> Tuple[Dict[str, float], str]:
        """Test ``checkpoint`` (MMEngine checkpoint, slim export or final ticket) on the
        config's test set; returns (metrics, the same as text). ``options`` are the task's own
        (a detector's ``coco``, ``predictions_out``, ``show_dir``)."""
        if options:
            raise ValueError(f'{sorted(options)} (--out X.pkl, --show-dir, --no-coco) are '
                             f'options of detection tests, and this is a {self.name} config: '
                             f'use --out X.json')
        metrics, _ = test_checkpoint(cfg, checkpoint, work_dir)
        return metrics, '\n'.join(f'{k} {v:.4f}' for k, v in metrics.items())

    def check_classes(self, cfg: Config, classes: List[str]) -> None:
        """Raise ValueError when the model's head does not fit the classes on disk."""

    def arch_name(self, cfg: Config) -> str:
        b = cfg.model.get('backbone', {})
        return f"{b.get('type', '?')}{b.get('depth', '')}"

    def dataset_name(self, cfg: Config) -> str:
        return cfg.get('dataset_name', cfg.train_dataloader.dataset.get('type', '?'))


def task_class(name: str) -> type:
    """The registered task class ``name`` (``'cls'``, ``'det'``, or one a plugin registered)."""
    TASKS.import_from_location()
    task_cls = TASKS.module_dict.get(name)
    if task_cls is None:
        raise ValueError(f'colt.task must be one of {sorted(TASKS.module_dict)}, got {name!r}')
    return task_cls


def get_task(name: str) -> Task:
    """An instance of the registered task ``name``."""
    return task_class(name)()


def task_of(cfg: Config) -> Task:
    """The task a config is for: its ``colt.task``, else its default scope's (a detection
    config runs in MMDetection's scope), else classification."""
    name = (cfg.get('colt') or {}).get('task')
    if name is None:
        TASKS.import_from_location()
        scope = cfg.get('default_scope')
        name = next((n for n, c in TASKS.module_dict.items() if c.default_scope == scope), 'cls')
    return get_task(name)


UNEXPECTED = re.compile(r"(\w+)\.__init__\(\) got an unexpected keyword argument '(\w+)'")


def _key_path(cfg, cls: str, key: str, prefix: str) -> Optional[str]:
    """The dotted config key of ``key`` in the sub-dict of ``cfg`` whose ``type`` is ``cls``."""
    if isinstance(cfg, dict):
        kind = cfg.get('type')
        name = kind if isinstance(kind, str) else getattr(kind, '__name__', '')
        if name.split('.')[-1] == cls and key in cfg:
            return f'{prefix}.{key}'
        for k, v in cfg.items():
            found = _key_path(v, cls, key, f'{prefix}.{k}')
            if found:
                return found
    return None


@contextlib.contextmanager
def quiet_mmengine():
    """Silence MMEngine's INFO chatter (e.g. per-parameter init_weights logs)."""
    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)
