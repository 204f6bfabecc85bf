"""Detection: real VOC files, class partitions, a slim Faster R-CNN under masks, the search."""
import copy
import json
import os
import os.path as osp

import pytest
import torch
from mmdet.registry import DATASETS
from mmengine.registry import DefaultScope

from colt_det.synthetic.demo import DET_CLASSES, VOC_CLASSES, make_voc0712
from colt_det.tasks.det import ClassPartitionDetDataset

from conftest import ROOT, VOC_SAMPLE, det_config

PIPE = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True),
        dict(type='PackDetInputs')]


def voc(year='2007', split='trainval', root=VOC_SAMPLE, **kw):
    return dict(type='VOCDataset', data_root=root, ann_file=f'VOC{year}/ImageSets/Main/{split}.txt',
                data_prefix=dict(sub_data_root=f'VOC{year}/'), pipeline=PIPE, **kw)


def build_dataset(cfg):
    """A dataset built as a detection Runner builds it: in MMDetection's scope."""
    with DefaultScope.overwrite_default_scope('mmdet'):
        return DATASETS.build(cfg)


def labels_of(ds, idx=0):
    return sorted(int(i['bbox_label']) for i in ds.get_data_info(idx)['instances'])


def test_generated_voc0712_feeds_the_main_config(tmp_path):
    # benchmarks/voc_amp_round.sh and step_time.py --model r50 run the VOC config on it
    from mmengine.config import Config
    root = make_voc0712(str(tmp_path), num_train=6, num_test=2, img_size=(100, 75))
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'colt_faster_rcnn_voc.py'))
    for dataset in cfg.train_dataloader.dataset.dataset.datasets:
        dataset.update(data_root=root, filter_cfg=None)
    cfg.val_dataloader.dataset.data_root = root
    train, test = build_dataset(cfg.train_dataloader.dataset), build_dataset(
        cfg.val_dataloader.dataset)
    assert len(train) == 3 * 12 and len(test) == 2  # RepeatDataset(3) over VOC07 + VOC12
    labels = {lb for i in range(12) for lb in labels_of(train.dataset, i)}
    # every other VOC class: both halves of a contiguous 2-partition split have objects
    assert labels <= set(range(0, 20, 2)) and min(labels) < 10 <= max(labels)


def test_real_voc_sample_loads_and_scores():
    ds = build_dataset(voc())
    assert len(ds) == 1 and ds.metainfo['dataset_type'] == 'VOC2007'
    assert labels_of(ds) == [VOC_CLASSES.index('dog'), VOC_CLASSES.index('person')]
    sample = ds[0]
    gt = sample['data_samples'].gt_instances
    assert sample['inputs'].shape[1:] == (500, 353)

    from mmdet.evaluation import VOCMetric
    metric = VOCMetric(eval_mode='11points')
    metric.dataset_meta = ds.metainfo

    def score(pred_boxes, pred_labels, pred_scores):
        ds_ = copy.deepcopy(sample['data_samples'])
        m = copy.deepcopy(metric)
        pred = dict(bboxes=pred_boxes, labels=pred_labels, scores=pred_scores)
        m.process({}, [dict(gt_instances=ds_.gt_instances.to_dict(),
                            ignored_instances=ds_.ignored_instances.to_dict(),
                            pred_instances=pred, img_id=ds_.img_id,
                            ori_shape=ds_.ori_shape)])
        return m.compute_metrics(m.results)['mAP']

    perfect = score(gt.bboxes.tensor, gt.labels, torch.ones(len(gt.labels)))
    wrong = score(gt.bboxes.tensor, (gt.labels + 1) % 20, torch.ones(len(gt.labels)))
    assert perfect == pytest.approx(1.0)
    assert wrong == pytest.approx(0.0)


def test_partition_policies_keep_global_labels(voc_data):
    full = build_dataset(voc(root=voc_data, metainfo=dict(classes=DET_CLASSES)))
    group = list(DET_CLASSES[:5])
    keep = set(range(5))
    parts = {p: ClassPartitionDetDataset(copy.deepcopy(full), group, policy=p)
             for p in ('ignore', 'drop', 'exclusive')}
    n_with_own = sum(1 for i in range(len(full)) if set(labels_of(full, i)) & keep)
    n_exclusive = sum(1 for i in range(len(full)) if labels_of(full, i) and
                      set(labels_of(full, i)) <= keep)
    assert len(parts['ignore']) == len(parts['drop']) == n_with_own < len(full)
    assert len(parts['exclusive']) == n_exclusive < n_with_own
    # 'ignore': other objects kept but flagged; 'drop': removed; labels are global indices
    mixed = next(i for i in range(len(parts['ignore']))
                 if set(labels_of(parts['ignore'], i)) - keep)
    info = parts['ignore'].get_data_info(mixed)
    for inst in info['instances']:
        assert inst['ignore_flag'] == (0 if inst['bbox_label'] in keep else 1)
    assert set(labels_of(parts['drop'], mixed)) <= keep
    sample = parts['ignore'][mixed]
    assert len(sample['data_samples'].ignored_instances) >= 1
    assert parts['ignore'].metainfo['classes'] == full.metainfo['classes']
    stats = parts['drop'].stats
    assert stats['images'] == n_with_own and stats['classes'] == group
    assert stats['objects'] == sum(len(labels_of(parts['drop'], i))
                                   for i in range(len(parts['drop'])))


def test_voc0712_concat_repeat_partition_on_real_sample():
    cat = dict(type='RepeatDataset', times=2, dataset=dict(
        type='ConcatDataset', ignore_keys=['dataset_type'],
        datasets=[voc('2007'), voc('2012')]))
    train = ClassPartitionDetDataset(cat, ['train'], policy='ignore')
    assert len(train) == 2  # the VOC2012 image, twice
    assert labels_of(train) == [VOC_CLASSES.index('train')]
    assert train[0]['data_samples'].img_path.endswith('VOC2012/JPEGImages/000001.jpg')
    dog = ClassPartitionDetDataset(cat, ['dog', 'cat'], policy='drop')
    assert len(dog) == 2 and labels_of(dog) == [VOC_CLASSES.index('dog')]
    with pytest.raises(ValueError, match='has no images'):
        ClassPartitionDetDataset(cat, ['dog'], policy='exclusive')  # dog image has a person
    with pytest.raises(ValueError, match='not dataset classes'):
        ClassPartitionDetDataset(cat, ['unicorn'])


def test_mask_enforced_inside_faster_rcnn(voc_data, tmp_path):
    from mmengine.runner import Runner

    from colt_det.core import PrunableSpec, magnitude_prune, ones_mask, save_mask
    cfg = det_config(voc_data, str(tmp_path))
    cfg.pop('colt')
    with DefaultScope.overwrite_default_scope('mmdet'):
        from mmdet.registry import MODELS
        model = MODELS.build(copy.deepcopy(cfg.model))
    names = PrunableSpec(include=['backbone.*']).select(model)
    assert names[0] == 'backbone.conv1.weight' and all(n.startswith('backbone.') for n in names)
    params = dict(model.named_parameters())
    mask = magnitude_prune({n: params[n] for n in names}, ones_mask(model, names), 0.5)
    save_mask(str(tmp_path / 'm.safetensors'), mask)
    cfg.custom_hooks = [dict(type='colt_det.ColtHook', prunable=dict(include=['backbone.*']),
                             mask=str(tmp_path / 'm.safetensors'))]
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=4, val_interval=100)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=4, by_epoch=False)
    cfg.experiment_name = 'enforce'
    runner = Runner.from_cfg(cfg)
    runner.train()
    trained = dict(runner.model.named_parameters())
    for n, m in mask.items():
        assert torch.all(trained[n].detach()[~m] == 0), n
        assert bool((trained[n].detach()[m] != 0).any())
    ckpt = torch.load(tmp_path / 'iter_4.pth', map_location='cpu', weights_only=True)
    for n, m in mask.items():
        assert torch.all(ckpt['state_dict'][n][~m] == 0)


def test_detection_search_round_bookkeeping(voc_data, tmp_path):
    from colt_det.core import is_subset, load_mask, load_ticket
    from colt_det.search import ColtSearch
    summary = ColtSearch(det_config(voc_data, str(tmp_path))).run()
    assert summary['metric_key'] == 'pascal_voc/mAP' and summary['num_partitions'] == 2
    assert len(summary['rounds']) == 2
    assert summary['rounds'][0]['sparsity'] >= 0.4 - 1e-3
    assert summary['rounds'][1]['sparsity'] > summary['rounds'][0]['sparsity']
    groups = [p['classes'] for p in summary['rounds'][0]['partitions']]
    assert groups == [list(DET_CLASSES[:5]),
                      list(DET_CLASSES[5:])]
    for r in summary['rounds']:
        for p in r['partitions']:
            with open(tmp_path / 'rounds' / f"round_{r['round']:02d}" / f"part_{p['index']}"
                      / 'result.json') as f:
                assert p['metric'] == json.load(f)['metrics']['pascal_voc/mAP']
            assert 0 < p['images'] < 48 and p['objects'] >= p['images']
    t2 = load_ticket(str(tmp_path / 'tickets' / 'round_02.safetensors'))
    assert all(k.startswith('backbone.') for k in t2.masks)
    for i in range(2):
        part = load_mask(str(tmp_path / 'rounds' / 'round_02' / f'part_{i}' / 'mask.safetensors'))
        assert is_subset(t2.masks, part)
    with open(tmp_path / 'final' / 'result.json') as f:
        assert summary['final']['metric'] == json.load(f)['test_metrics']['pascal_voc/mAP']
    # the mask-applied checkpoint loads into a fresh detector with mmengine's loader
    from mmengine.runner import load_checkpoint
    with DefaultScope.overwrite_default_scope('mmdet'):
        from mmdet.registry import MODELS
        model = MODELS.build(det_config(voc_data, str(tmp_path)).model)
    load_checkpoint(model, str(tmp_path / 'final_masked.pth'), map_location='cpu', strict=True)
    w = dict(model.named_parameters())
    assert all(torch.all(w[k].detach()[~m] == 0) for k, m in t2.masks.items())

    # tools/test.py reproduces the mAP the final training logged, from the checkpoint and from
    # the compact ticket alike, and adds area-AP, per-class AP with the right names and COCO AP
    import pickle

    from conftest import load_tool
    test_tool = load_tool('test')
    out, vis = tmp_path / 'preds.pkl', tmp_path / 'vis'
    assert test_tool.main([osp.join(ROOT, 'configs', 'colt_faster_rcnn_demo.py'),
                           str(tmp_path / 'final_masked.pth'), '--out', str(out), '--show-dir',
                           str(vis), '--cfg-options'] + [
                               f'{k}.dataset.data_root={voc_data}' for k in (
                                   'train_dataloader', 'val_dataloader', 'test_dataloader')]) == 0
    metrics = json.loads((tmp_path / 'preds.metrics.json').read_text())
    assert metrics['voc07/mAP'] == pytest.approx(summary['final']['metric'], abs=1e-6)
    assert 'voc07/AP50/circle' in metrics and 'coco/bbox_mAP_50' in metrics
    assert isinstance(metrics['voc_area/mAP'], float)
    assert metrics['sparsity'] == pytest.approx(t2.sparsity, abs=1e-6)
    # the predictions as mmdet's tools/test.py --out writes them: one dict per test image
    with open(out, 'rb') as f:
        preds = pickle.load(f)
    assert len(preds) == 16 and {'img_path', 'pred_instances'} <= set(preds[0])
    assert preds[0]['pred_instances']['bboxes'].shape[1] == 4
    drawn = [f for _, _, files in os.walk(vis) for f in files if f.endswith('.jpg')]
    assert len(drawn) == 16  # every test image drawn with its detections
    # export: the compact ticket rebuilds exactly the mask-applied checkpoint
    assert load_tool('export_ticket').main([str(tmp_path / 'tickets' / 'final.safetensors'),
                                            str(tmp_path / 'exported.pth')]) == 0
    exported = torch.load(tmp_path / 'exported.pth', weights_only=True)['state_dict']
    saved = torch.load(tmp_path / 'final_masked.pth', weights_only=True)['state_dict']
    assert set(exported) == set(saved)
    assert all(torch.equal(exported[k], saved[k]) for k in saved)
    from colt_det.tasks.det.evaluate import evaluate_detector
    from_ticket = evaluate_detector(det_config(voc_data, str(tmp_path / 'eval')),
                                    str(tmp_path / 'tickets' / 'final.safetensors'), coco=False)
    assert from_ticket['voc07/mAP'] == pytest.approx(metrics['voc07/mAP'], abs=1e-6)


def test_missing_voc_is_one_clear_error(tmp_path):
    from colt_det.search import ColtSearch
    cfg = det_config(str(tmp_path / 'nowhere'), str(tmp_path / 'w'))
    with pytest.raises(FileNotFoundError, match='put Pascal VOC under'):
        ColtSearch(cfg).run()
    assert not osp.exists(tmp_path / 'w')  # nothing written


def _one_image_voc(root, xml: str):
    import os
    base = osp.join(root, 'VOC2007')
    for sub in ('Annotations', 'JPEGImages', 'ImageSets/Main'):
        os.makedirs(osp.join(base, sub), exist_ok=True)
    with open(osp.join(base, 'ImageSets/Main/trainval.txt'), 'w') as f:
        f.write('000001\n')
    with open(osp.join(base, 'Annotations/000001.xml'), 'w') as f:
        f.write(xml)
    return dict(type='colt_det.CheckedVOCDataset', data_root=root,
                ann_file='VOC2007/ImageSets/Main/trainval.txt',
                data_prefix=dict(sub_data_root='VOC2007/'), pipeline=PIPE,
                metainfo=dict(classes=('dog', 'person')))


GOOD_OBJ = ('<object><name>{name}</name><difficult>0</difficult><bndbox><xmin>1</xmin>'
            '<ymin>2</ymin><xmax>{xmax}</xmax><ymax>40</ymax></bndbox></object>')
SIZE = '<size><width>50</width><height>50</height><depth>3</depth></size>'


@pytest.mark.parametrize('xml,message', [
    (f'<annotation>{SIZE}' + GOOD_OBJ.format(name='cat', xmax=30) + '</annotation>',
     "class 'cat' is not in the configured classes"),
    (f'<annotation>{SIZE}' + GOOD_OBJ.format(name='dog', xmax='abc') + '</annotation>',
     'non-numeric <bndbox><xmax>'),
    ('<annotation><size><width>50', 'is not valid XML'),
    ('<annotation><size><width>x</width><height>50</height></size></annotation>',
     '<size><width> is missing or not an integer'),
])
def test_bad_voc_xml_names_file_and_field(tmp_path, xml, message):
    cfg = _one_image_voc(str(tmp_path), xml)
    with pytest.raises(ValueError, match='000001.xml') as err:
        build_dataset(cfg)
    assert message in str(err.value)


def test_checked_voc_accepts_good_file(tmp_path):
    xml = f'<annotation>{SIZE}' + GOOD_OBJ.format(name='dog', xmax=30) + '</annotation>'
    ds = build_dataset(_one_image_voc(str(tmp_path), xml))
    assert labels_of(ds) == [0]


def test_classification_ticket_initialises_detector(voc_data, tmp_path):
    """A TVResNet-18 classification ticket -> the demo detector (method='ticket', trained)."""
    from colt_det.core import (
        PrunableSpec,
        load_ticket,
        magnitude_prune,
        ones_mask,
        save_ticket,
        state_of,
    )
    from colt_det.runtime.checkpoints import load_state
    from colt_det.search import ColtSearch
    from colt_det.tasks.cls.models import ImageClassifier
    torch.manual_seed(1)
    clf = ImageClassifier(backbone=dict(type='TVResNet', depth=18), num_classes=10)
    names = PrunableSpec(include=['backbone.*']).select(clf)
    params = dict(clf.named_parameters())
    mask = magnitude_prune({n: params[n] for n in names}, ones_mask(clf, names), 0.7)
    trained = {k: v + 0.01 for k, v in state_of(clf).items()}  # "trained" != theta0
    src = str(tmp_path / 'cls_final.safetensors')
    save_ticket(src, mask, state_of(clf), trained=trained, meta=dict(arch='TVResNet18'),
                dense={k: v for k, v in trained.items() if k not in mask})

    cfg = det_config(voc_data, str(tmp_path / 'det'), method='ticket', num_partitions=1,
                     init_ticket=dict(path=src, mode='trained'))
    summary = ColtSearch(cfg).run()
    theta0 = load_state(str(tmp_path / 'det' / 'theta0.safetensors'))
    for n, m in mask.items():
        assert torch.equal(theta0[n], trained[n] * m)  # detector starts from the ticket
    # ... with the pretrained BatchNorm parameters and statistics; the classifier head is not
    # a backbone tensor and is not copied
    for n in ('backbone.bn1.weight', 'backbone.layer2.1.bn2.running_var'):
        assert torch.equal(theta0[n], trained[n])
    final = load_ticket(str(tmp_path / 'det' / 'tickets' / 'final.safetensors'))
    assert set(final.masks) == set(mask)
    assert all(torch.equal(final.masks[n], mask[n]) for n in mask)  # mask kept fixed
    assert all(torch.all(final.trained[n][~mask[n]] == 0) for n in mask)
    assert summary['final']['sparsity'] == pytest.approx(0.7, abs=1e-3)
    with open(tmp_path / 'det' / 'transfer_report.json') as f:
        report = json.load(f)
    assert report['dropped'] == []  # the ticket masks backbone convs only
    assert report['coverage'] > 0.95 and report['mode'] == 'trained'
    assert 'backbone.bn1.running_mean' in report['dense_copied']
    assert not [n for n in report['dense_copied'] if not n.startswith('backbone.')]

    # a ticket of another depth is refused with what differs, before anything trains
    torch.manual_seed(1)
    r50 = ImageClassifier(backbone=dict(type='TVResNet', depth=50), num_classes=10)
    n50 = PrunableSpec(include=['backbone.*']).select(r50)
    bad = str(tmp_path / 'r50.safetensors')
    save_ticket(bad, ones_mask(r50, n50), state_of(r50), meta=dict(arch='TVResNet50'))
    cfg = det_config(voc_data, str(tmp_path / 'det50'), method='ticket', num_partitions=1,
                     init_ticket=dict(path=bad, mode='rewind'))
    from colt_det.core import TicketError
    with pytest.raises(TicketError, match='arch=TVResNet50.*shape mismatch'):
        ColtSearch(cfg).run()
    assert not osp.exists(tmp_path / 'det50')  # nothing written


def test_half_width_tvresnet_matches_the_detector_backbone():
    """The hard benchmark pretrains TVResNet(base_width=32) for mmdet ResNet(base_channels=32)."""
    from mmdet.models.backbones import ResNet

    from colt_det.tasks.cls.models import TVResNet
    clf, det = TVResNet(18, base_width=32), ResNet(18, base_channels=32)
    assert {k: v.shape for k, v in clf.state_dict().items()} == \
        {k: v.shape for k, v in det.state_dict().items()}
    assert clf(torch.zeros(2, 3, 48, 48)).shape == (2, 256) and clf.out_channels == 256
    with pytest.raises(ValueError, match='depth 18 or 34'):
        TVResNet(50, base_width=32)


def test_voc_metric_matches_mmdet_and_names_classes():
    """ColtVOCMetric's mAP is mmdet's VOCMetric's; per-class APs carry the dataset's names."""
    import numpy as np
    from mmdet.evaluation import VOCMetric

    from colt_det.tasks.det.metrics import ColtVOCMetric
    rng = np.random.default_rng(0)
    results = []
    for _ in range(6):
        boxes = rng.uniform(0, 40, (4, 2))
        gt_boxes = np.concatenate([boxes, boxes + rng.uniform(10, 30, (4, 2))], 1)
        gt = dict(width=80, height=80, bboxes=gt_boxes.astype(np.float32),
                  labels=rng.integers(0, 3, 4), bboxes_ignore=np.zeros((0, 4), np.float32),
                  labels_ignore=np.zeros(0, np.int64))
        noisy = gt_boxes + rng.normal(0, 3, gt_boxes.shape)
        pred = [np.concatenate([noisy[gt['labels'] == c], rng.uniform(0.1, 1, (
            int((gt['labels'] == c).sum()), 1))], 1).astype(np.float32) for c in range(3)]
        results.append((gt, pred))
    meta = dict(classes=('apple', 'bolt', 'cup'))
    ours = ColtVOCMetric(classwise=True, iou_thrs=[0.5, 0.75])
    ours.dataset_meta = meta
    theirs = VOCMetric(iou_thrs=[0.5, 0.75])
    theirs.dataset_meta = meta
    got, want = ours.compute_metrics(results), theirs.compute_metrics(results)
    assert got['mAP'] == pytest.approx(want['mAP']) and 0.2 < got['mAP'] < 1.0
    assert got['AP50'] == want['AP50'] and got['AP75'] == want['AP75']
    per_class = [got[f'AP50/{c}'] for c in meta['classes']]
    assert np.nanmean(per_class) == pytest.approx(got['AP50'], abs=1e-3)


def test_movement_scores_refuse_frozen_stages(voc_data, tmp_path):
    # mmdet's frozen_stages never move: movement would score them 0 and prune them first
    from colt_det.search import ColtSearch, SearchError
    work = str(tmp_path / 'w')
    cfg = det_config(voc_data, work, weight_score='movement')
    cfg.model.backbone.frozen_stages = 1
    with pytest.raises(SearchError, match=r'cannot rank the 5 frozen prunable weights \(e\.g\. '
                                          r'backbone\.conv1\.weight'):
        ColtSearch(cfg).prepare()
    assert not osp.exists(work)
    cfg.colt.prunable = dict(include=['backbone.*'],
                             exclude=['backbone.conv1.*', 'backbone.layer1.*'])
    ctx = ColtSearch(cfg).prepare()
    assert ctx.prunable[0] == 'backbone.layer2.0.conv1.weight'
