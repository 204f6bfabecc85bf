"""Detection specifics of the COLT search (partitioned VOC subsets, mAP, default scope)."""
from typing import Dict, List, Optional, Tuple

from mmdet.registry import DATASETS
from mmengine.config import Config

from ...registry import TASKS
from ..base import Task
from .datasets import check_voc_paths, find_key, leaf_dataset_cfgs
from .evaluate import evaluate_detector, format_metrics
from .policies import PARTITION_POLICIES


@TASKS.register_module('det')
class DetTask(Task):
    """Detection: one global label space; partitions differ only in the data they see."""

    name = 'detection'
    metric_key = 'pascal_voc/mAP'
    default_scope = 'mmdet'

    @property
    def policies(self) -> tuple:
        return tuple(PARTITION_POLICIES)

    def class_names(self, cfg: Config) -> List[str]:
        check_voc_paths(cfg.train_dataloader.dataset)
        meta = find_key(cfg.train_dataloader.dataset, 'metainfo')
        if meta and meta.get('classes'):
            return list(meta['classes'])
        leaf = leaf_dataset_cfgs(cfg.train_dataloader.dataset)[0]
        with self.scope(cfg):
            cls = DATASETS.get(leaf['type'])
        return list(cls.METAINFO['classes'])

    def restrict(self, cfg: Config, group: List[str], all_classes: List[str],
                 policy: str) -> None:
        cfg.train_dataloader.dataset = dict(
            type='colt_det.ClassPartitionDetDataset', dataset=cfg.train_dataloader.dataset,
            classes=list(group), policy=policy)
        if cfg.get('val_dataloader'):
            # validation on the partition's classes only: other objects removed
            cfg.val_dataloader.dataset = dict(
                type='colt_det.ClassPartitionDetDataset', dataset=cfg.val_dataloader.dataset,
                classes=list(group), policy='drop', test_mode=True)
        # AspectRatioBatchSampler etc. work on any dataset with get_data_info

    def check_classes(self, cfg: Config, classes: List[str]) -> None:
        """The box head must predict every class of the dataset."""
        head = cfg.model.get('roi_head', {}).get('bbox_head', {})
        n = head.get('num_classes') if isinstance(head, dict) else None
        if n is not None and n != len(classes):
            raise ValueError(f'model.roi_head.bbox_head.num_classes={n} but the dataset has '
                             f'{len(classes)} classes: set num_classes={len(classes)}')

    def arch_name(self, cfg: Config) -> str:
        b = cfg.model.get('backbone', {})
        return f"{cfg.model.get('type', '?')}/{b.get('type', '?')}{b.get('depth', '')}"

    def dataset_name(self, cfg: Config) -> str:
        return cfg.get('dataset_name') or find_key(cfg.train_dataloader.dataset, 'type') or '?'

    def evaluate(self, cfg: Config, checkpoint: str, work_dir: Optional[str] = None,
                 **options) -> Tuple[Dict[str, float], str]:
        """VOC mAP (11-point and area), per-class AP50 and COCO-style AP of one test pass
        (options: ``coco``, ``predictions_out``, ``show_dir``, ``model_hook``)."""
        metrics = evaluate_detector(cfg, checkpoint, work_dir=work_dir, **options)
        return metrics, format_metrics(metrics)
