"""What differs between classification and detection searches, behind one small interface.

A task knows its metric, the class names of a config's dataset, how to restrict a config to one
partition's classes, and how to name the model and data in ticket metadata. The search itself is
the same for every task. Each task lives in its own subpackage (``colt_det/cls/task.py``,
``colt_det/det/task.py``) and registers itself in :data:`colt_det.registry.TASKS` under the name
``colt.task`` uses; this module never imports them.
"""
import contextlib
import copy
import logging
from typing import List

from mmengine.config import Config
from mmengine.registry import MODELS, DefaultScope
from torch import nn

from ..registry import TASKS


class Task:
    """The task-specific half of a search (subclass and register in ``TASKS`` to add one).

    Args:
        partition_policy (str): what a partition does with objects of other partitions' classes
            (detection: ``'ignore'`` | ``'drop'`` | ``'exclusive'``; unused by classification).
    """

    metric_key: str = ''
    default_scope: str = 'colt_det'

    def __init__(self, partition_policy: str = 'ignore') -> None:
        self.partition_policy = partition_policy

    @contextlib.contextmanager
    def scope(self, cfg: Config):
        """Build modules of ``cfg`` outside a Runner under the config's default scope."""
        with DefaultScope.overwrite_default_scope(cfg.get('default_scope')
                                                  or self.default_scope):
            yield

    def build_model(self, cfg: Config) -> nn.Module:
        """``cfg.model`` built under the config's scope, without MMEngine's INFO chatter."""
        with self.scope(cfg), quiet_mmengine():
            return MODELS.build(copy.deepcopy(cfg.model))

    def class_names(self, cfg: Config) -> List[str]:
        raise NotImplementedError

    def restrict(self, cfg: Config, group: List[str], all_classes: List[str]) -> None:
        """Change ``cfg`` in place so that it trains (and validates) on ``group`` only."""
        raise NotImplementedError

    def check_classes(self, cfg: Config, classes: List[str]) -> None:
        """Raise ValueError when the model's head does not fit the classes on disk."""

    def arch_name(self, cfg: Config) -> str:
        b = cfg.model.get('backbone', {})
        return f"{b.get('type', '?')}{b.get('depth', '')}"

    def dataset_name(self, cfg: Config) -> str:
        return cfg.get('dataset_name', cfg.train_dataloader.dataset.get('type', '?'))


def get_task(name: str, partition_policy: str = 'ignore') -> Task:
    """The registered task ``name`` (``'cls'``, ``'det'``, or one a plugin registered)."""
    TASKS.import_from_location()
    task_cls = TASKS.module_dict.get(name)
    if task_cls is None:
        raise ValueError(f'colt.task must be one of {sorted(TASKS.module_dict)}, got {name!r}')
    return task_cls(partition_policy)


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
