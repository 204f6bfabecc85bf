"""What differs between classification and detection searches, behind one small interface.

A task knows its metric, the class names of a config's dataset, how to restrict a config to one
partition's classes, and how to load the backbone's initial weights. The search itself
(:mod:`colt_det.engine.search`) is the same for both.
"""
import contextlib
import copy
from typing import List

from mmengine.config import Config
from mmengine.registry import DATASETS, DefaultScope


class ClsTask:
    """Classification: each partition gets a head sized for its own classes."""

    metric_key = 'accuracy/top1'

    @contextlib.contextmanager
    def scope(self, cfg: Config):
        name = cfg.get('default_scope') or 'mmengine'
        with DefaultScope.overwrite_default_scope(name):
            yield

    def class_names(self, cfg: Config) -> List[str]:
        with self.scope(cfg):
            dataset = DATASETS.build(copy.deepcopy(cfg.train_dataloader.dataset))
        return list(dataset.classes)

    def restrict(self, cfg: Config, group: List[str], all_classes: List[str]) -> None:
        for key in ('train_dataloader', 'val_dataloader'):
            if cfg.get(key):
                cfg[key].dataset = dict(type='ClassSubset', dataset=cfg[key].dataset,
                                        classes=list(group))
        cfg.model.num_classes = len(group)

    def check_classes(self, cfg: Config, classes: List[str]) -> None:
        """The model's head must have one output per class found on disk."""
        head = cfg.model.get('num_classes')
        if head is not None and head != len(classes):
            raise ValueError(f'model.num_classes={head} but the training data has '
                             f'{len(classes)} classes: set model.num_classes={len(classes)}')

    def load_init(self, cfg: Config, model) -> None:
        """Nothing to load: theta0 is the seeded random initialisation."""

    def arch_name(self, cfg: Config) -> str:
        b = cfg.model.get('backbone', {})
        return f"{b.get('type', '?')}{b.get('depth', '')}"

    def dataset_name(self, cfg: Config) -> str:
        return cfg.get('dataset_name', cfg.train_dataloader.dataset.get('type', '?'))


def get_task(name: str, partition_policy: str = 'ignore'):
    if name == 'cls':
        return ClsTask()
    if name == 'det':
        from ..det.task import DetTask
        return DetTask(partition_policy)
    raise ValueError(f"colt.task must be 'cls' or 'det', got {name!r}")
