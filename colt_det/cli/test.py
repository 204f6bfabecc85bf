"""Evaluate a trained model (mask-applied checkpoint, slim export or final ticket) on a config's
test set: ``colt-test`` (``tools/test.py`` in a checkout).

Detectors: VOC mAP@0.5 (11-point and area), per-class AP50 with the dataset's class names, and
COCO-style AP/AP50/AP75 (pycocotools) computed on the same predictions. Classifiers: the
config's test metric (top-1 accuracy). The config's task says which (its ``colt.task``, else
its default scope).

Usage:
    colt-test CONFIG CHECKPOINT [--out metrics.json | --out preds.pkl] [--show-dir DIR]
        [--work-dir DIR] [--launcher none|pytorch|slurm] [--force] [--cfg-options k=v ...]
    CHECKPOINT: work_dir/final_masked.pth, a slim export, or work_dir/tickets/final.safetensors
    --out X.json: the metrics as JSON; --out X.pkl: the predictions as mmdet's tools/test.py
    writes them, and the metrics in X.metrics.json. Existing files are kept unless --force.
    --onnx PART.onnx: the backbone + neck run by onnxruntime (fp32 or INT8 from colt-export).
"""
import argparse
import os
import os.path as osp
import sys

from . import guarded, load_config, refuse_existing


def parse_args(argv=None):
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description='test a checkpoint or ticket')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--out', help='X.json: metrics; X.pkl: predictions (mmdet format) '
                                      '+ X.metrics.json')
    parser.add_argument('--show-dir', help='draw the detections of every test image here')
    parser.add_argument('--work-dir', help="where MMEngine's logs go (default: a temp dir)")
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'], default='none')
    parser.add_argument('--no-coco', action='store_true', help='skip the COCO-style metrics')
    parser.add_argument('--onnx', metavar='PART.onnx',
                        help='detectors: run the backbone + neck by onnxruntime from this part '
                             '(colt-export --onnx, fp32 or --int8); the rest stays in PyTorch')
    parser.add_argument('--threads', type=int, default=None,
                        help='--onnx: onnxruntime intra-op threads (default: its own choice)')
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
    return guarded(lambda: _main(args), args.debug)


def _main(args) -> int:
    from mmengine.dist import is_main_process

    from ..core import atomic_write_bytes, atomic_write_json
    from ..runtime.dist import configure_launcher, init_distributed
    from ..tasks.base import task_of
    preds, metrics_json = out_paths(args.out)
    for path in (preds, metrics_json):
        refuse_existing(path, args.force)
    cfg = load_config(args.config, args.cfg_options)
    init_distributed(args.launcher, cfg.get('env_cfg', {}).get('dist_cfg', {}).get('backend'))
    configure_launcher(cfg, args.launcher)
    tmp_preds = None
    if preds:  # mmdet's DumpDetResults writes in place: into a temp file, then renamed
        tmp_preds = osp.join(osp.dirname(osp.abspath(preds)),
                             f'.tmp.{os.getpid()}.{osp.basename(preds)}')
        os.makedirs(osp.dirname(tmp_preds), exist_ok=True)
    # the task's own options, where given (a classifier refuses a detector's)
    hook = None
    if args.onnx:
        from ..deploy.int8 import onnx_features
        hook = onnx_features(args.onnx, args.threads)
    options = {k: v for k, v in dict(predictions_out=tmp_preds, show_dir=args.show_dir,
                                     coco=False if args.no_coco else None,
                                     model_hook=hook).items()
               if v is not None}
    task = task_of(cfg)
    try:
        metrics, text = task.evaluate(cfg, args.checkpoint, work_dir=args.work_dir, **options)
        if tmp_preds and is_main_process():
            with open(tmp_preds, 'rb') as f:
                atomic_write_bytes(preds, f.read(), overwrite=args.force)
    finally:
        if tmp_preds and osp.exists(tmp_preds):
            os.remove(tmp_preds)
    if not is_main_process():
        return 0
    print(text)
    if metrics_json:
        atomic_write_json(metrics_json, metrics, overwrite=args.force)
        print(f'metrics -> {metrics_json}' + (f', predictions -> {preds}' if preds else ''))
    if args.show_dir:
        print(f'detections drawn -> {args.show_dir}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
