"""How much of a detector's missing mAP@0.5 the small objects explain: re-scores saved test
predictions with every ground-truth box whose shorter side is below a threshold ignored (as VOC
ignores ``difficult`` ones), for a few thresholds.

The predictions come from ``tools/test.py CONFIG CHECKPOINT --out preds.pkl``; the boxes from
the VOC annotations next to each predicted image. mmdet's ``eval_map`` scores them (area
mode; ``tools/test.py`` reports the VOC07 11-point value, a little higher).

Usage:
    .venv/bin/python benchmarks/calibration/ap_by_size.py CONFIG preds.pkl [--sides 0 14 16 20]
"""
import argparse
import os.path as osp
import pickle
import sys
import xml.etree.ElementTree as ET
from typing import List, Sequence

import numpy as np

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def annotation(xml_path: str, classes: Sequence[str], min_side: float) -> dict:
    """One image's boxes for ``eval_map``: difficult ones and those with a side < ``min_side``
    go to the ignored boxes."""
    kept, kept_labels, ignored, ignored_labels = [], [], [], []
    for obj in ET.parse(xml_path).getroot().findall('object'):
        box = [float(obj.find('bndbox').find(k).text) for k in ('xmin', 'ymin', 'xmax', 'ymax')]
        small = min(box[2] - box[0], box[3] - box[1]) < min_side
        difficult = int(obj.findtext('difficult', '0'))
        boxes, labels = (ignored, ignored_labels) if small or difficult else (kept, kept_labels)
        boxes.append(box)
        labels.append(classes.index(obj.find('name').text))
    return dict(bboxes=np.array(kept, np.float32).reshape(-1, 4),
                labels=np.array(kept_labels, np.int64),
                bboxes_ignore=np.array(ignored, np.float32).reshape(-1, 4),
                labels_ignore=np.array(ignored_labels, np.int64))


def xml_of(img_path: str) -> str:
    """``.../JPEGImages/x.jpg`` -> ``.../Annotations/x.xml``."""
    folder, name = osp.split(img_path)
    return osp.join(osp.dirname(folder), 'Annotations', osp.splitext(name)[0] + '.xml')


def map_by_size(preds: List[dict], classes: Sequence[str],
                sides: Sequence[float]) -> List[dict]:
    """[{min_side, scored boxes, ignored boxes, mAP}] for each threshold in ``sides``."""
    from mmdet.evaluation.functional import eval_map
    dets = []
    for p in preds:
        inst = p['pred_instances']
        boxes, scores, labels = (np.asarray(inst[k]) for k in ('bboxes', 'scores', 'labels'))
        dets.append([np.hstack([boxes[labels == c], scores[labels == c, None]])
                     for c in range(len(classes))])
    out = []
    for side in sides:
        gts = [annotation(xml_of(p['img_path']), classes, side) for p in preds]
        mean_ap, _ = eval_map(dets, gts, iou_thr=0.5, eval_mode='area', logger='silent')
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
    classes = list(Config.fromfile(args.config).classes)
    with open(args.preds, 'rb') as f:
        preds = pickle.load(f)
    print('| boxes with a side < | scored | ignored | mAP@0.5 (area) |\n|---|---|---|---|')
    for r in map_by_size(preds, classes, args.sides):
        print(f"| {r['min_side']:.0f} px ignored | {r['scored']} | {r['ignored']} | "
              f"{r['mAP']:.4f} |")


if __name__ == '__main__':
    main()
