"""Detection specifics of the COLT search (partitioned VOC subsets, mAP, default scope)."""
import os.path as osp
from typing import List

from mmengine.config import Config
from mmdet.registry import DATASETS

from ..engine.tasks import Task
from ..registry import TASKS


def _find_key(cfg, key: str):
    """First value of ``key`` in a nested dataset config (through Concat/Repeat wrappers)."""
    if isinstance(cfg, dict):
        if key in cfg and cfg[key] is not None:
            return cfg[key]
        for sub in ('dataset', 'datasets'):
            v = cfg.get(sub)
            for item in (v if isinstance(v, (list, tuple)) else [v]):
                found = _find_key(item, key)
                if found is not None:
                    return found
    return None


def leaf_dataset_cfgs(cfg) -> list:
    """Every leaf dataset config (those with a ``data_root``/``ann_file``)."""
    if isinstance(cfg, (list, tuple)):
        return [c for item in cfg for c in leaf_dataset_cfgs(item)]
    if not isinstance(cfg, dict):
        return []
    for sub in ('dataset', 'datasets'):
        if cfg.get(sub) is not None:
            return leaf_dataset_cfgs(cfg[sub])
    return [cfg]


def check_voc_paths(dataset_cfg) -> None:
    """One clear error when the VOC data is not where the config says."""
    for leaf in leaf_dataset_cfgs(dataset_cfg):
        root = leaf.get('data_root') or ''
        ann = leaf.get('ann_file')
        if ann is None:
            continue
        path = ann if osp.isabs(ann) else osp.join(root, ann)
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'VOC annotation list {path} not found: put Pascal VOC under {root or "."} '
                f'(VOCdevkit/VOC2007/ImageSets/Main/trainval.txt, ...) or set data_root')


@TASKS.register_module('det')
class DetTask(Task):
    """Detection: one global label space; partitions differ only in the data they see."""

    metric_key = 'pascal_voc/mAP'
    default_scope = 'mmdet'

    def class_names(self, cfg: Config) -> List[str]:
        check_voc_paths(cfg.train_dataloader.dataset)
        meta = _find_key(cfg.train_dataloader.dataset, 'metainfo')
        if meta and meta.get('classes'):
            return list(meta['classes'])
        leaf = leaf_dataset_cfgs(cfg.train_dataloader.dataset)[0]
        with self.scope(cfg):
            cls = DATASETS.get(leaf['type'])
        return list(cls.METAINFO['classes'])

    def restrict(self, cfg: Config, group: List[str], all_classes: List[str]) -> None:
        cfg.train_dataloader.dataset = dict(
            type='colt_det.ClassPartitionDetDataset', dataset=cfg.train_dataloader.dataset,
            classes=list(group), policy=self.partition_policy)
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
        return cfg.get('dataset_name') or _find_key(cfg.train_dataloader.dataset, 'type') or '?'
