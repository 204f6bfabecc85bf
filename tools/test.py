"""Evaluate a trained detector (mask-applied checkpoint or final ticket) on a config's test set.

Prints VOC mAP@0.5 (11-point and area), per-class AP50 with the dataset's class names, and
COCO-style AP/AP50/AP75 (pycocotools) computed on the same predictions.

Usage:
    python tools/test.py CONFIG CHECKPOINT [--out metrics.json] [--cfg-options k=v ...]
    CHECKPOINT: work_dir/final_masked.pth or work_dir/tickets/final.safetensors
"""
import argparse
import json
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))


def main(argv=None) -> int:
    from mmengine.config import Config, DictAction
    parser = argparse.ArgumentParser(description='VOC/COCO mAP of a detector checkpoint')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--out', help='also write the metrics as JSON here')
    parser.add_argument('--no-coco', action='store_true', help='skip the COCO-style metrics')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    import colt_det  # noqa: F401
    from colt_det.cli import USER_ERRORS
    from colt_det.det.evaluate import evaluate_detector, format_metrics
    try:
        if not osp.isfile(args.config):
            raise FileNotFoundError(f'config {args.config} not found: pass a file from configs/')
        cfg = Config.fromfile(args.config)
        if args.cfg_options:
            cfg.merge_from_dict(args.cfg_options)
        metrics = evaluate_detector(cfg, args.checkpoint, coco=not args.no_coco)
    except USER_ERRORS as e:
        print(f'error: {str(e).splitlines()[0]}', file=sys.stderr)
        return 1
    print(format_metrics(metrics))
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(metrics, f, indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(main())
