"""How much of a detector's missing mAP@0.5 the small objects explain: re-scores saved test
predictions with every ground-truth box whose shorter side is below a threshold ignored (as VOC
ignores ``difficult`` ones), for a few thresholds.

The predictions come from ``tools/test.py CONFIG CHECKPOINT --out preds.pkl``; the boxes from
the config's test dataset as mmdet parses them (``difficult`` -> ignored). Scored as colt_det's
ColtVOCMetric scores (mmdet's ``eval_map``) in area mode: threshold 0 gives ``tools/test.py``'s
``voc_area/mAP`` (its VOC07 11-point value is a little higher).

Usage:
    .venv/bin/python benchmarks/calibration/ap_by_size.py CONFIG preds.pkl [--sides 0 14 16 20]
"""
import argparse
import copy
import os.path as osp
import pickle
import sys
from typing import Dict, List, Sequence

import numpy as np

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def test_instances(cfg) -> Dict[str, list]:
    """Real img_path -> the ``instances`` of the config's test dataset (mmdet's VOC parsing)."""
    from mmdet.registry import DATASETS

    from colt_det.tasks.base import get_task
    dataset_cfg = copy.deepcopy(cfg.test_dataloader.dataset)
    dataset_cfg.pipeline = []
    with get_task('det').scope(cfg):
        dataset = DATASETS.build(dataset_cfg)
    infos = (dataset.get_data_info(i) for i in range(len(dataset)))
    return {osp.realpath(info['img_path']): info['instances'] for info in infos}


def annotation(instances: list, min_side: float) -> dict:
    """One image's boxes for ``eval_map``: ignored ones (difficult) and those with a side <
    ``min_side`` go to the ignored boxes."""
    boxes = {False: [], True: []}
    labels = {False: [], True: []}
    for inst in instances:
        x0, y0, x1, y1 = inst['bbox']
        ignored = bool(inst['ignore_flag']) or min(x1 - x0, y1 - y0) < min_side
        boxes[ignored].append(inst['bbox'])
        labels[ignored].append(inst['bbox_label'])
    return dict(bboxes=np.array(boxes[False], np.float32).reshape(-1, 4),
                labels=np.array(labels[False], np.int64),
                bboxes_ignore=np.array(boxes[True], np.float32).reshape(-1, 4),
                labels_ignore=np.array(labels[True], np.int64))


def map_by_size(preds: List[dict], instances: Dict[str, list], num_classes: int,
                sides: Sequence[float]) -> List[dict]:
    """[{min_side, scored boxes, ignored boxes, mAP}] for each threshold in ``sides``."""
    from mmdet.evaluation.functional import eval_map
    dets = []
    for p in preds:
        inst = p['pred_instances']
        boxes, scores, labels = (np.asarray(inst[k]) for k in ('bboxes', 'scores', 'labels'))
        dets.append([np.hstack([boxes[labels == c], scores[labels == c, None]])
                     for c in range(num_classes)])
    out = []
    for side in sides:
        gts = [annotation(instances[osp.realpath(p['img_path'])], side) for p in preds]
        # VOC's inclusive pixel boxes, as ColtVOCMetric scores them
        mean_ap, _ = eval_map(dets, gts, iou_thr=0.5, eval_mode='area', logger='silent',
                              use_legacy_coordinate=True)
        out.append(dict(min_side=side, scored=sum(len(g['labels']) for g in gts),
                        ignored=sum(len(g['labels_ignore']) for g in gts), mAP=float(mean_ap)))
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('preds', help='predictions of tools/test.py --out X.pkl')
    parser.add_argument('--sides', nargs='+', type=float, default=[0, 14, 16, 20, 24])
    args = parser.parse_args(argv)
    from mmengine.config import Config
    cfg = Config.fromfile(args.config)
    with open(args.preds, 'rb') as f:
        preds = pickle.load(f)
    print('| boxes with a side < | scored | ignored | mAP@0.5 (area) |\n|---|---|---|---|')
    for r in map_by_size(preds, test_instances(cfg), len(cfg.classes), args.sides):
        print(f"| {r['min_side']:.0f} px ignored | {r['scored']} | {r['ignored']} | "
              f"{r['mAP']:.4f} |")


if __name__ == '__main__':
    main()
