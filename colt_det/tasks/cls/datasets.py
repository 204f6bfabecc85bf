"""Classification datasets read from disk (never downloaded), and the class-subset wrapper.

Every dataset here exposes ``classes`` (names in label order), ``labels`` (one int per sample)
and ``metainfo = {'classes': ...}``; samples are ``{'inputs': CHW float tensor,
'data_samples': int label}`` so MMEngine's ``default_collate`` batches them.
"""
import os
import os.path as osp
import random
from typing import List, Optional, Sequence

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from ...registry import DATASETS

IMG_EXTS = ('.png', '.jpg', '.jpeg', '.bmp', '.ppm')
_STATS = {
    'imagenet': ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
    'cifar': ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    'half': ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
}


def build_transform(size: int, train: bool, norm: str = 'imagenet', crop_pad: int = 0):
    """torchvision transform: resize, (train) random crop/flip, to tensor, normalise."""
    from torchvision import transforms as T

    mean, std = _STATS[norm]
    ops = [T.Resize((size, size))]
    if train:
        if crop_pad:
            ops.append(T.RandomCrop(size, padding=crop_pad))
        ops.append(T.RandomHorizontalFlip())
    ops += [T.ToTensor(), T.Normalize(mean, std)]
    return T.Compose(ops)


class _ClsBase(Dataset):
    """Shared split-carving and sample building."""

    classes: List[str]

    def __init__(self, img_size: int, train_aug: bool, norm: str, crop_pad: int,
                 holdout: float, subset: Optional[str], seed: int) -> None:
        self.transform = build_transform(img_size, train_aug, norm, crop_pad)
        self.holdout, self.subset, self.seed = holdout, subset, seed

    @property
    def metainfo(self) -> dict:
        return dict(classes=tuple(self.classes))

    def _carve(self, items: list) -> list:
        """Split a train list into train/val (stratified, seeded) when ``subset`` is set."""
        if not self.subset:
            return items
        if self.subset not in ('train', 'val'):
            raise ValueError(f"subset must be 'train' or 'val', got {self.subset!r}")
        if not 0.0 < self.holdout < 1.0:
            raise ValueError(f'holdout must be in (0, 1), got {self.holdout}')
        rng = random.Random(self.seed)
        by_label = {}
        for it in items:
            by_label.setdefault(it[1], []).append(it)
        out = []
        for label in sorted(by_label):
            group = by_label[label][:]
            rng.shuffle(group)
            n_val = max(1, int(round(len(group) * self.holdout)))
            out += group[:n_val] if self.subset == 'val' else group[n_val:]
        return out

    def __len__(self) -> int:
        return len(self.labels)


@DATASETS.register_module()
class ImageFolderCls(_ClsBase):
    """``root/<split>/<class>/*.png`` (ImageNet, the demo data) or TinyImageNet's layout.

    TinyImageNet: ``train/<wnid>/images/*.JPEG`` and ``val/images`` + ``val_annotations.txt``
    are recognised automatically.

    Args:
        root (str): dataset root.
        split (str): folder under ``root`` (``train``, ``val``, ``test``).
        img_size (int): images are resized to ``img_size`` x ``img_size``.
        train_aug (bool): random crop/flip.
        subset (str, optional): ``'train'`` / ``'val'`` carves a stratified validation split of
            ``holdout`` from ``split`` (model selection never looks at the test split).
    """

    def __init__(self, root: str, split: str = 'train', img_size: int = 32,
                 train_aug: bool = False, norm: str = 'imagenet', crop_pad: int = 0,
                 holdout: float = 0.1, subset: Optional[str] = None, seed: int = 0,
                 classes: Optional[Sequence[str]] = None) -> None:
        super().__init__(img_size, train_aug, norm, crop_pad, holdout, subset, seed)
        split_dir = osp.join(root, split)
        if not osp.isdir(split_dir):
            raise FileNotFoundError(f'dataset folder {split_dir} does not exist: point '
                                    f'data_root at a folder with {split}/<class>/ images')
        ann = osp.join(split_dir, 'val_annotations.txt')
        if classes is None:
            train_dir = osp.join(root, 'train')
            class_root = train_dir if osp.isdir(train_dir) else split_dir
            classes = sorted(d for d in os.listdir(class_root)
                             if osp.isdir(osp.join(class_root, d)))
        self.classes = list(classes)
        index = {c: i for i, c in enumerate(self.classes)}
        items = []
        if osp.isfile(ann):  # TinyImageNet val layout
            with open(ann) as f:
                for line in f:
                    parts = line.split('\t')
                    if len(parts) >= 2 and parts[1] in index:
                        items.append((osp.join(split_dir, 'images', parts[0]), index[parts[1]]))
        else:
            for c in self.classes:
                cdir = osp.join(split_dir, c)
                if osp.isdir(osp.join(cdir, 'images')):  # TinyImageNet train layout
                    cdir = osp.join(cdir, 'images')
                found = [(osp.join(cdir, f), index[c]) for f in sorted(os.listdir(cdir))
                         if f.lower().endswith(IMG_EXTS)] if osp.isdir(cdir) else []
                if not found:
                    # a class with no images would only fail at the final training
                    raise ValueError(f'class folder {cdir} has no images ({", ".join(IMG_EXTS)})'
                                     f': add images or remove the class')
                items += found
        if not items:
            raise FileNotFoundError(f'no images found under {split_dir}: expected '
                                    f'{split}/<class>/*.png|jpg (ImageFolder layout)')
        items = self._carve(items)
        self.paths = [p for p, _ in items]
        self.labels = [label for _, label in items]

    def __getitem__(self, idx: int) -> dict:
        path = self.paths[idx]
        try:
            with Image.open(path) as img:
                img = img.convert('RGB')
        except (OSError, SyntaxError, ValueError) as e:  # PIL's errors for bad image files
            raise ValueError(f'image {path} cannot be read ({e}): replace or remove the '
                             f'file') from None
        return dict(inputs=self.transform(img), data_samples=self.labels[idx])


@DATASETS.register_module()
class CIFARCls(_ClsBase):
    """CIFAR-10/100 from the standard *binary* on-disk format (no download, no pickle).

    Expects ``cifar-10-batches-bin/{data_batch_1..5,test_batch}.bin`` or
    ``cifar-100-binary/{train,test}.bin`` (with ``batches.meta.txt`` / ``fine_label_names.txt``)
    under ``root``.
    """

    def __init__(self, root: str, split: str = 'train', num_classes: int = 10,
                 img_size: int = 32, train_aug: bool = False, crop_pad: int = 4,
                 holdout: float = 0.1, subset: Optional[str] = None, seed: int = 0) -> None:
        super().__init__(img_size, train_aug, 'cifar', crop_pad, holdout, subset, seed)
        if num_classes == 10:
            base = osp.join(root, 'cifar-10-batches-bin')
            files = ([f'data_batch_{i}.bin' for i in range(1, 6)]
                     if split == 'train' else ['test_batch.bin'])
            label_bytes, names_file = 1, 'batches.meta.txt'
        elif num_classes == 100:
            base = osp.join(root, 'cifar-100-binary')
            files = ['train.bin' if split == 'train' else 'test.bin']
            label_bytes, names_file = 2, 'fine_label_names.txt'
        else:
            raise ValueError(f'CIFAR num_classes must be 10 or 100, got {num_classes}')
        paths = [osp.join(base, f) for f in files]
        missing = [p for p in paths if not osp.isfile(p)]
        if missing:
            raise FileNotFoundError(f'CIFAR file {missing[0]} not found: extract the binary '
                                    f'version of CIFAR-{num_classes} under {root}')
        rec = label_bytes + 3072
        raw = np.concatenate([np.fromfile(p, dtype=np.uint8).reshape(-1, rec) for p in paths])
        labels = raw[:, label_bytes - 1].astype(np.int64)
        images = raw[:, label_bytes:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        names_path = osp.join(base, names_file)
        with open(names_path) as f:
            self.classes = [ln.strip() for ln in f if ln.strip()]
        items = self._carve([(i, int(label)) for i, label in enumerate(labels)])
        self.images = images[[i for i, _ in items]]
        self.labels = [label for _, label in items]

    def __getitem__(self, idx: int) -> dict:
        return dict(inputs=self.transform(Image.fromarray(self.images[idx])),
                    data_samples=self.labels[idx])


@DATASETS.register_module()
class ClassSubset(Dataset):
    """Only the samples of some classes, labels remapped to ``0..len(classes)-1``.

    Args:
        dataset (dict | Dataset): a dataset with ``classes`` and ``labels``.
        classes (Sequence[str]): the classes to keep (the partition), in label order.
    """

    def __init__(self, dataset, classes: Sequence[str]) -> None:
        # built in colt_det's scope whatever scope is current (other packages' types by their
        # scoped name)
        self.dataset = (DATASETS.build(dict(dict(_scope_='colt_det'), **dataset))
                        if isinstance(dataset, dict) else dataset)
        unknown = [c for c in classes if c not in self.dataset.classes]
        if unknown:
            raise ValueError(f'partition classes {unknown} are not in the dataset classes '
                             f'{list(self.dataset.classes)}: fix the partition groups')
        self.classes = list(classes)
        old_to_new = {self.dataset.classes.index(c): i for i, c in enumerate(self.classes)}
        self.indices = [i for i, label in enumerate(self.dataset.labels) if label in old_to_new]
        if not self.indices:
            raise ValueError(f'partition with classes {self.classes} has no samples: use fewer '
                             f'partitions or check the data')
        self.labels = [old_to_new[self.dataset.labels[i]] for i in self.indices]

    @property
    def metainfo(self) -> dict:
        return dict(classes=tuple(self.classes))

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, idx: int) -> dict:
        sample = self.dataset[self.indices[idx]]
        return dict(inputs=sample['inputs'], data_samples=self.labels[idx])


def as_tensor_labels(labels) -> torch.Tensor:
    if isinstance(labels, torch.Tensor):
        return labels.long()
    return torch.as_tensor(labels, dtype=torch.long)
