"""Writing generated images in the layouts the datasets read: VOCdevkit and ImageFolder."""
import os
import os.path as osp
from typing import Callable, Sequence, Tuple

from PIL import Image


def voc_xml(name: str, w: int, h: int, objects) -> str:
    """A VOC annotation; ``objects``: ``(class, (x0, y0, x1, y1)[, truncated, difficult])``
    with 0-based pixel boxes (written 1-based, as VOC does)."""
    objs = ''.join(
        f'  <object>\n    <name>{o[0]}</name>\n    <pose>Unspecified</pose>\n'
        f'    <truncated>{o[2] if len(o) > 2 else 0}</truncated>\n'
        f'    <difficult>{o[3] if len(o) > 3 else 0}</difficult>\n    <bndbox>\n'
        f'      <xmin>{o[1][0] + 1}</xmin>\n      <ymin>{o[1][1] + 1}</ymin>\n'
        f'      <xmax>{o[1][2]}</xmax>\n      <ymax>{o[1][3]}</ymax>\n    </bndbox>\n'
        f'  </object>\n' for o in objects)
    return (f'<annotation>\n  <folder>VOC2007</folder>\n  <filename>{name}.jpg</filename>\n'
            f'  <size>\n    <width>{w}</width>\n    <height>{h}</height>\n'
            f'    <depth>3</depth>\n  </size>\n  <segmented>0</segmented>\n{objs}</annotation>\n')


def write_voc(out_dir: str, num_train: int, num_test: int,
              image: Callable[[], Tuple[Image.Image, list]], quality: int = 95,
              year: str = 'VOC2007') -> str:
    """``num_train`` trainval + ``num_test`` test images from ``image()`` (the image and its
    objects for :func:`voc_xml`) as ``VOCdevkit/<year>``; returns the ``VOCdevkit`` path."""
    root = osp.join(out_dir, 'VOCdevkit', year)
    for sub in ('JPEGImages', 'Annotations', 'ImageSets/Main'):
        os.makedirs(osp.join(root, sub), exist_ok=True)
    splits = {'trainval': [], 'test': []}
    for idx in range(num_train + num_test):
        name = f'{idx:06d}'
        img, objects = image()
        img.save(osp.join(root, 'JPEGImages', f'{name}.jpg'), quality=quality)
        with open(osp.join(root, 'Annotations', f'{name}.xml'), 'w') as f:
            f.write(voc_xml(name, img.width, img.height, objects))
        splits['trainval' if idx < num_train else 'test'].append(name)
    for split, names in splits.items():
        with open(osp.join(root, 'ImageSets', 'Main', f'{split}.txt'), 'w') as f:
            f.write('\n'.join(names) + '\n')
    return osp.join(out_dir, 'VOCdevkit')


def write_imagefolder(out_dir: str, per_class, classes: Sequence[str],
                      image: Callable[[str], Image.Image]) -> str:
    """``per_class`` = (train, val, test) images of every class from ``image(cls)`` as
    ``<split>/<class>/<k>.png``; returns ``out_dir``."""
    for split, n in zip(('train', 'val', 'test'), per_class):
        for cls in classes:
            folder = osp.join(out_dir, split, cls)
            os.makedirs(folder, exist_ok=True)
            for k in range(n):
                image(cls).save(osp.join(folder, f'{k:05d}.png'))
    return out_dir
