"""The hard generated detection set: deterministic, VOC-valid, and as hard as it says."""
import glob
import hashlib
import os
import os.path as osp
import xml.etree.ElementTree as ET

from colt_det.synthetic.hard import HARD_CLASSES, make_hard_voc


def _digest(root: str) -> str:
    h = hashlib.sha256()
    for path in sorted(glob.glob(osp.join(root, '**', '*.*'), recursive=True)):
        h.update(osp.relpath(path, root).encode())
        with open(path, 'rb') as f:
            h.update(f.read())
    return h.hexdigest()


def test_same_seed_same_bytes_other_seed_other_data(tmp_path):
    a, b, c = (make_hard_voc(str(tmp_path / n), num_train=6, num_test=2, seed=s)
               for n, s in (('a', 0), ('b', 0), ('c', 1)))
    assert _digest(a) == _digest(b)
    assert _digest(a) != _digest(c)


def test_objects_are_varied_and_flagged(tmp_path):
    from mmdet.registry import DATASETS
    from mmengine.registry import DefaultScope
    root = make_hard_voc(str(tmp_path), num_train=40, num_test=0, seed=0)
    objects = [o for f in glob.glob(osp.join(root, 'VOC2007', 'Annotations', '*.xml'))
               for o in ET.parse(f).findall('object')]
    names = {o.find('name').text for o in objects}
    sides = [max(int(o.find('bndbox/xmax').text) - int(o.find('bndbox/xmin').text),
                 int(o.find('bndbox/ymax').text) - int(o.find('bndbox/ymin').text))
             for o in objects]
    difficult = sum(int(o.find('difficult').text) for o in objects)
    truncated = sum(int(o.find('truncated').text) for o in objects)
    assert names == set(HARD_CLASSES)  # all 20 classes in 40 images
    assert len(objects) >= 3 * 40 and min(sides) < 14 and max(sides) > 60
    assert 0 < difficult < len(objects) // 3 and truncated > 0
    with DefaultScope.overwrite_default_scope('mmdet'):  # loads as VOC; difficult = ignored
        ds = DATASETS.build(dict(
            type='colt_det.CheckedVOCDataset', data_root=root,
            ann_file='VOC2007/ImageSets/Main/trainval.txt',
            data_prefix=dict(sub_data_root='VOC2007/'), metainfo=dict(classes=HARD_CLASSES),
            pipeline=[]))
    ignored = sum(i['ignore_flag'] for k in range(len(ds))
                  for i in ds.get_data_info(k)['instances'])
    assert ignored == difficult


def test_hard_classification_set_is_deterministic(tmp_path):
    from colt_det.synthetic.hard import make_hard_cls
    from colt_det.tasks.cls.datasets import ImageFolderCls
    a = make_hard_cls(str(tmp_path / 'a'), per_class=(2, 1, 1), img_size=32, seed=0)
    b = make_hard_cls(str(tmp_path / 'b'), per_class=(2, 1, 1), img_size=32, seed=0)
    assert _digest(a) == _digest(b)
    ds = ImageFolderCls(a, split='train', img_size=32, norm='imagenet')
    assert list(ds.classes) == sorted(HARD_CLASSES) and len(ds) == 2 * len(HARD_CLASSES)


def test_data_made_by_older_defaults_is_regenerated(tmp_path, monkeypatch):
    """ensure_demo_data trusts a hard-set folder only if its marker names the current preset."""
    import colt_det.synthetic.hard as hard_voc
    from colt_det.synthetic import ensure_demo_data
    made = []

    def fake_make(out_dir):
        made.append(out_dir)
        os.makedirs(out_dir, exist_ok=True)

    monkeypatch.setattr(hard_voc, 'make_hard_voc', fake_make)
    old = tmp_path / 'voc_hard'
    old.mkdir()
    (old / 'stale.jpg').write_bytes(b'old')
    (old / '.done').write_text('')  # the marker the first preset wrote
    ensure_demo_data(str(tmp_path), 'det_hard')
    assert len(made) == 1 and not (old / 'stale.jpg').exists()
    assert (old / '.done').read_text() == hard_voc.HARD_DATA_VERSION
    ensure_demo_data(str(tmp_path), 'det_hard')  # current: kept
    assert len(made) == 1


def test_second_classification_preset_and_unknown_kind(tmp_path, monkeypatch):
    """cls_hard32 (issue #13 item 5's second set) is make_hard_cls with its own arguments;
    a misspelt demo_data is refused instead of silently generating nothing."""
    import pytest

    import colt_det.synthetic.hard as hard_voc
    from colt_det.synthetic import ensure_demo_data
    calls = []
    monkeypatch.setattr(hard_voc, 'make_hard_cls',
                        lambda out_dir, **kw: calls.append((out_dir, kw)) or
                        os.makedirs(out_dir, exist_ok=True))
    ensure_demo_data(str(tmp_path), 'cls_hard32')
    assert calls == [(str(tmp_path / 'cls_hard32'),
                      dict(per_class=(150, 30, 60), img_size=32, seed=1))]
    with pytest.raises(ValueError,
                       match="unknown demo_data 'cls_hard ': set the config's demo_data"):
        ensure_demo_data(str(tmp_path), 'cls_hard ')
