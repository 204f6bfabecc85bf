"""Evaluate a trained model (mask-applied checkpoint, slim export or final ticket) on a config's
test set.

Detectors: VOC mAP@0.5 (11-point and area), per-class AP50 with the dataset's class names, and
COCO-style AP/AP50/AP75 (pycocotools) computed on the same predictions. Classifiers: the
config's test metric (top-1/top-5 accuracy).

Usage:
    python tools/test.py CONFIG CHECKPOINT [--out metrics.json | --out preds.pkl]
        [--show-dir DIR] [--work-dir DIR] [--launcher none|pytorch|slurm] [--force]
        [--cfg-options k=v ...] [--debug]
    CHECKPOINT: work_dir/final_masked.pth or work_dir/tickets/final.safetensors
    --out X.json: the metrics as JSON; --out X.pkl: the predictions as mmdet's tools/test.py
    writes them, and the metrics in X.metrics.json. Existing files are kept unless --force.
"""
import argparse
import json
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))


def parse_args(argv=None):
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description='VOC/COCO mAP of a detector checkpoint')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--out', help='X.json: metrics; X.pkl: predictions (mmdet format) '
                                      '+ X.metrics.json')
    parser.add_argument('--show-dir', help='draw the detections of every test image here')
    parser.add_argument('--work-dir', help="where MMEngine's logs go (default: a temp dir)")
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'], default='none')
    parser.add_argument('--no-coco', action='store_true', help='skip the COCO-style metrics')
    parser.add_argument('--force', action='store_true', help='overwrite existing --out files')
    parser.add_argument('--debug', action='store_true', help='tracebacks for known errors too')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def out_paths(out):
    """(predictions .pkl or None, metrics .json or None) of ``--out``."""
    if not out:
        return None, None
    stem, ext = osp.splitext(out)
    if ext in ('.pkl', '.pickle'):
        return out, stem + '.metrics.json'
    if ext == '.json':
        return None, out
    raise ValueError(f'--out {out}: use a .json (metrics) or .pkl (predictions) file name')


def main(argv=None) -> int:
    args = parse_args(argv)
    from colt_det.cli import guarded
    return guarded(lambda: _main(args), args.debug)


def _main(args) -> int:
    from mmengine.config import Config
    from mmengine.dist import is_main_process

    from colt_det.cli import refuse_existing
    from colt_det.core import atomic_write_json
    from colt_det.det.evaluate import evaluate_detector, format_metrics
    from colt_det.engine.distributed import configure_launcher, init_distributed
    preds, metrics_json = out_paths(args.out)
    for path in (preds, metrics_json):
        refuse_existing(path, args.force)
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config {args.config} not found: pass a file from configs/')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_distributed(args.launcher, cfg.get('env_cfg', {}).get('dist_cfg', {}).get('backend'))
    configure_launcher(cfg, args.launcher)
    if _is_classifier(cfg):
        if preds or args.show_dir:
            raise ValueError('--out X.pkl and --show-dir are for detectors: use --out X.json')
        from colt_det.engine.evaluation import test_checkpoint
        metrics, _ = test_checkpoint(cfg, args.checkpoint, args.work_dir)
        text = '\n'.join(f'{k} {v:.4f}' for k, v in metrics.items())
    else:
        metrics = evaluate_detector(cfg, args.checkpoint, work_dir=args.work_dir,
                                    coco=not args.no_coco, predictions_out=preds,
                                    show_dir=args.show_dir)
        text = format_metrics(metrics)
    if not is_main_process():
        return 0
    print(text)
    if metrics_json:
        atomic_write_json(metrics_json, metrics, overwrite=args.force)
        print(f'metrics -> {metrics_json}' + (f', predictions -> {preds}' if preds else ''))
    if args.show_dir:
        print(f'detections drawn -> {args.show_dir}')
    return 0


def _is_classifier(cfg) -> bool:
    """A colt_det classification config (its test metric is top-k accuracy)."""
    evaluator = cfg.get('test_evaluator') or {}
    return isinstance(evaluator, dict) and evaluator.get('type', '').endswith('TopKAccuracy')


if __name__ == '__main__':
    sys.exit(main())
