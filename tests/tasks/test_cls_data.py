"""Classification datasets from disk: ImageFolder, TinyImageNet layout, CIFAR binary, subsets."""
import os

import numpy as np
import pytest
from PIL import Image

from colt_det.tasks.cls import CIFARCls, ClassSubset, ImageFolderCls


def test_imagefolder_and_carved_validation(cls_data):
    full = ImageFolderCls(cls_data, 'train', img_size=16)
    assert len(full.classes) == 10 and len(full) == 160
    tr = ImageFolderCls(cls_data, 'train', img_size=16, subset='train', holdout=0.25)
    va = ImageFolderCls(cls_data, 'train', img_size=16, subset='val', holdout=0.25)
    assert len(tr) + len(va) == len(full)
    assert not set(tr.paths) & set(va.paths)
    assert sorted(set(va.labels)) == list(range(10))  # stratified
    x = full[0]
    assert x['inputs'].shape == (3, 16, 16) and isinstance(x['data_samples'], int)


def test_class_subset_remaps_labels(cls_data):
    full = ImageFolderCls(cls_data, 'train', img_size=16)
    sub = ClassSubset(full, [full.classes[7], full.classes[2]])
    assert len(sub) == 32 and sorted(set(sub.labels)) == [0, 1]
    assert sub.metainfo['classes'] == (full.classes[7], full.classes[2])
    i = sub.labels.index(0)
    assert full.labels[sub.indices[i]] == 7
    with pytest.raises(ValueError, match='not in the dataset classes'):
        ClassSubset(full, ['nope'])


def test_tinyimagenet_layout(tmp_path):
    wnids = ['n01', 'n02']
    for w in wnids:
        d = tmp_path / 'train' / w / 'images'
        d.mkdir(parents=True)
        for k in range(3):
            Image.new('RGB', (8, 8), (k * 40, 0, 0)).save(d / f'{w}_{k}.JPEG')
    (tmp_path / 'val' / 'images').mkdir(parents=True)
    lines = []
    for k, w in enumerate(['n02', 'n01', 'n02']):
        Image.new('RGB', (8, 8)).save(tmp_path / 'val' / 'images' / f'val_{k}.JPEG')
        lines.append(f'val_{k}.JPEG\t{w}\t0\t0\t8\t8')
    (tmp_path / 'val' / 'val_annotations.txt').write_text('\n'.join(lines))
    train = ImageFolderCls(str(tmp_path), 'train', img_size=8)
    val = ImageFolderCls(str(tmp_path), 'val', img_size=8)
    assert train.classes == wnids and len(train) == 6
    assert val.classes == wnids and val.labels == [1, 0, 1]


def test_cifar10_binary(tmp_path):
    base = tmp_path / 'cifar-10-batches-bin'
    base.mkdir()
    rng = np.random.default_rng(0)
    for name in [f'data_batch_{i}.bin' for i in range(1, 6)] + ['test_batch.bin']:
        rec = np.zeros((4, 3073), dtype=np.uint8)
        rec[:, 0] = [0, 3, 9, 3]
        rec[:, 1:] = rng.integers(0, 255, (4, 3072))
        rec.tofile(base / name)
    (base / 'batches.meta.txt').write_text('\n'.join(f'c{i}' for i in range(10)) + '\n')
    train = CIFARCls(str(tmp_path), 'train')
    test = CIFARCls(str(tmp_path), 'test')
    assert len(train) == 20 and len(test) == 4 and test.labels == [0, 3, 9, 3]
    assert train[0]['inputs'].shape == (3, 32, 32)
    with pytest.raises(FileNotFoundError, match='binary version of CIFAR-100'):
        CIFARCls(str(tmp_path), 'train', num_classes=100)


def test_missing_or_empty_folder_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='does not exist'):
        ImageFolderCls(str(tmp_path / 'none'), 'train')
    os.makedirs(tmp_path / 'train' / 'a')
    with pytest.raises(ValueError, match='class folder .*train/a has no images'):
        ImageFolderCls(str(tmp_path), 'train')
    os.makedirs(tmp_path / 'empty_split')
    with pytest.raises(FileNotFoundError, match='no images found'):
        ImageFolderCls(str(tmp_path), 'empty_split', classes=[])
