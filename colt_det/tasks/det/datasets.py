"""Class-partitioned detection datasets that keep the global label space.

:class:`ClassPartitionDetDataset` wraps any MMDetection dataset (``VOCDataset``, a
``ConcatDataset`` of VOC07+12, a ``RepeatDataset`` of either) and keeps the images of one
partition's classes. Labels stay the *global* ones (a VOC partition still predicts 20 classes), so
the metric's class names and the detector head are the same for every partition.

Objects of other partitions in a kept image follow ``policy``:

* ``'ignore'`` (default): they become ignored regions (``ignore_flag=1``), so they are neither
  foreground nor forced to be background (set the assigners' ``ignore_iof_thr`` to use them);
* ``'drop'``: they are removed (they look like background);
* ``'exclusive'``: only images whose objects all belong to the partition are kept.

Images left with no object of the partition are dropped.
"""
import copy
import os.path as osp
import random
import xml.etree.ElementTree as ET
from typing import Dict, List, Sequence, Tuple

from mmdet.datasets import VOCDataset
from mmengine.dataset import ConcatDataset, RepeatDataset
from torch.utils.data import Dataset

from ...registry import DATASETS
from .policies import PARTITION_POLICIES, partition_view


def find_key(cfg, key: str):
    """First value of ``key`` in a nested dataset config (through Concat/Repeat wrappers)."""
    if isinstance(cfg, dict):
        if key in cfg and cfg[key] is not None:
            return cfg[key]
        for sub in ('dataset', 'datasets'):
            v = cfg.get(sub)
            for item in (v if isinstance(v, (list, tuple)) else [v]):
                found = find_key(item, key)
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


def leaf_of(dataset, idx: int) -> Tuple[object, int]:
    """The innermost dataset holding sample ``idx`` of a Concat/Repeat wrapper, and its index."""
    while isinstance(dataset, (ConcatDataset, RepeatDataset)):
        if isinstance(dataset, ConcatDataset):
            d, idx = dataset._get_ori_dataset_idx(idx)
            dataset = dataset.datasets[d]
        else:
            idx = dataset._get_ori_dataset_idx(idx)
            dataset = dataset.dataset
    return dataset, idx


@DATASETS.register_module()
class ClassPartitionDetDataset(Dataset):
    """The images and objects of one COLT partition of a detection dataset.

    Args:
        dataset (dict | Dataset): the full dataset (any mmdet dataset with ``get_data_info``).
        classes (Sequence[str]): the partition's class names (a subset of the dataset's).
        policy (str): what to do with other partitions' objects: ``'ignore'``, ``'drop'`` or
            ``'exclusive'``.
        test_mode (bool): no retry on pipeline failures (validation/test).
    """

    def __init__(self, dataset, classes: Sequence[str], policy: str = 'ignore',
                 test_mode: bool = False) -> None:
        if policy not in PARTITION_POLICIES:
            raise ValueError(f'partition policy must be one of {sorted(PARTITION_POLICIES)}, '
                             f'got {policy!r}')
        # built in MMDetection's scope whatever scope is current (colt_det's types by their
        # scoped name, 'colt_det.CheckedVOCDataset')
        self.dataset = (DATASETS.build(dict(dict(_scope_='mmdet'), **dataset))
                        if isinstance(dataset, dict) else dataset)
        self.metainfo = copy.deepcopy(self.dataset.metainfo)
        all_classes = list(self.metainfo['classes'])
        unknown = [c for c in classes if c not in all_classes]
        if unknown:
            raise ValueError(f'partition classes {unknown} are not dataset classes '
                             f'{all_classes}: fix colt.partition_groups or the metainfo')
        self.classes = list(classes)
        self.policy = policy
        self.test_mode = test_mode
        self.keep_labels = {all_classes.index(c) for c in classes}
        self.indices: List[int] = []
        objects = 0
        for idx in range(len(self.dataset)):
            instances = self.dataset.get_data_info(idx)['instances']
            kept = self._filter(instances)
            if kept is None:
                continue
            self.indices.append(idx)
            objects += sum(1 for i in kept if i['bbox_label'] in self.keep_labels)
        if not self.indices:
            raise ValueError(f'partition {self.classes} has no images under policy '
                             f'{policy!r}: use fewer partitions, another policy or more data')
        self.stats = dict(classes=self.classes, images=len(self.indices), objects=objects,
                          policy=policy)

    def _filter(self, instances: List[dict]):
        """The instances as this partition sees them, or None if the image is not used."""
        return partition_view(self.policy, instances, self.keep_labels)

    def get_data_info(self, idx: int) -> Dict:
        info = copy.deepcopy(self.dataset.get_data_info(self.indices[idx]))
        info['instances'] = self._filter(info['instances'])
        return info

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, idx: int):
        for _ in range(10):
            leaf, leaf_idx = leaf_of(self.dataset, self.indices[idx])
            info = copy.deepcopy(leaf.get_data_info(leaf_idx))
            info['instances'] = self._filter(info['instances'])
            data = run_pipeline(leaf.pipeline, info)
            if data is not None or self.test_mode:
                return data
            idx = random.randrange(len(self))  # a transform rejected the sample: take another
        raise RuntimeError(f'pipeline returned None for 10 samples of partition {self.classes}')


def run_pipeline(pipeline, info: dict):
    """``pipeline(info)``; an unreadable or truncated image becomes one error naming the file
    (OpenCV decodes a truncated JPEG without a word: the missing end marker gives it away)."""
    path = info.get('img_path')
    cut = path and truncated(path)
    if cut:
        raise ValueError(f'image {path} is truncated ({cut}): replace or remove it')
    try:
        return pipeline(info)
    except Exception:
        if path and _unreadable(path):
            raise ValueError(f'image {path} cannot be read (empty, truncated or not an '
                             f'image): replace or remove it') from None
        raise


_ENDS = {'.jpg': (b'\xff\xd9', 'no JPEG end marker'), '.jpeg': (b'\xff\xd9', 'no JPEG end marker'),
         '.png': (b'IEND', 'no PNG end chunk')}


def truncated(path: str):
    """Why the JPEG/PNG at ``path`` is cut short (its end marker is missing), or None."""
    end = _ENDS.get(osp.splitext(path)[1].lower())
    if end is None or not osp.isfile(path) or not osp.getsize(path):
        return None  # not checked here (an empty file cannot be read at all: said later)
    with open(path, 'rb') as f:
        f.seek(0, 2)
        f.seek(max(0, f.tell() - 4096))  # trailing metadata after the marker is allowed
        tail = f.read()
    return None if end[0] in tail else end[1]


def _unreadable(path: str) -> bool:
    import mmcv
    try:
        return mmcv.imread(path) is None
    except Exception:
        return True


@DATASETS.register_module()
class CheckedVOCDataset(VOCDataset):
    """``VOCDataset`` that stops on bad annotations instead of silently skipping them.

    mmdet's VOCDataset drops objects whose class is not in ``metainfo['classes']`` and fails with
    an anonymous ``AttributeError`` on a malformed file. Here both are one ``ValueError`` naming
    the file and the field, and how to fix it.

    Args:
        unknown_classes (str): ``'error'`` (default) or ``'skip'`` (mmdet's behaviour), for
            object names not in the configured classes.
    """

    def __init__(self, *args, unknown_classes: str = 'error', **kwargs) -> None:
        if unknown_classes not in ('error', 'skip'):
            raise ValueError(f"unknown_classes must be 'error' or 'skip', got {unknown_classes!r}")
        self.unknown_classes = unknown_classes
        super().__init__(*args, **kwargs)

    def parse_data_info(self, img_info: dict):
        xml_path = img_info['xml_path']
        if not osp.isfile(xml_path):
            raise ValueError(f'annotation {xml_path} listed in {self.ann_file} does not exist: '
                             f'restore it or remove the id from the list')
        try:
            root = ET.parse(xml_path).getroot()
        except ET.ParseError as e:
            raise ValueError(f'annotation {xml_path} is not valid XML ({e}): fix or remove '
                             f'the file') from None
        for k, obj in enumerate(root.findall('object')):
            name = obj.findtext('name')
            if name is None:
                raise ValueError(f'annotation {xml_path}: object {k} has no <name>: fix the file')
            if name not in self._metainfo['classes'] and self.unknown_classes == 'error':
                raise ValueError(f'annotation {xml_path}: class {name!r} is not in the '
                                 f'configured classes {list(self._metainfo["classes"])}: add it '
                                 f'to metainfo.classes or set unknown_classes="skip"')
            box = obj.find('bndbox')
            coords = {}
            for field in ('xmin', 'ymin', 'xmax', 'ymax'):
                text = box.findtext(field) if box is not None else None
                try:
                    coords[field] = float(text)
                except (TypeError, ValueError):
                    raise ValueError(f'annotation {xml_path}: object {k} ({name}) has a missing '
                                     f'or non-numeric <bndbox><{field}> ({text!r}): fix the '
                                     f'file') from None
            for lo, hi in (('xmin', 'xmax'), ('ymin', 'ymax')):
                # an inverted box only fails later, deep inside RoIAlign
                if coords[lo] > coords[hi]:
                    raise ValueError(f'annotation {xml_path}: object {k} ({name}) has {lo} '
                                     f'{coords[lo]:g} > {hi} {coords[hi]:g}: fix the box')
        size = root.find('size')
        if size is not None:
            for field in ('width', 'height'):
                if not (size.findtext(field) or '').strip().isdigit():
                    raise ValueError(f'annotation {xml_path}: <size><{field}> is missing or '
                                     f'not an integer: fix the file')
        return super().parse_data_info(img_info)

    def prepare_data(self, idx: int):
        return run_pipeline(self.pipeline, self.get_data_info(idx))
