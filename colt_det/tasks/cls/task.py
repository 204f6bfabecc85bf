"""Classification specifics of the COLT search: class-subset datasets with their own heads."""
import copy
from typing import List

from mmengine.config import Config

from ...registry import DATASETS, TASKS
from ..base import Task


@TASKS.register_module('cls')
class ClsTask(Task):
    """Classification: each partition gets a head sized for its own classes."""

    name = 'classification'
    metric_key = 'accuracy/top1'

    def class_names(self, cfg: Config) -> List[str]:
        with self.scope(cfg):
            dataset = DATASETS.build(copy.deepcopy(cfg.train_dataloader.dataset))
        return list(dataset.classes)

    def restrict(self, cfg: Config, group: List[str], all_classes: List[str],
                 policy: str) -> None:
        for key in ('train_dataloader', 'val_dataloader'):
            if cfg.get(key):
                cfg[key].dataset = dict(type='colt_det.ClassSubset', dataset=cfg[key].dataset,
                                        classes=list(group))
        cfg.model.num_classes = len(group)

    def check_classes(self, cfg: Config, classes: List[str]) -> None:
        """The model's head must have one output per class found on disk."""
        head = cfg.model.get('num_classes')
        if head is not None and head != len(classes):
            raise ValueError(f'model.num_classes={head} but the training data has '
                             f'{len(classes)} classes: set model.num_classes={len(classes)}')
