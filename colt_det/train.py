"""Run a COLT / IMP / random-ticket search (configs with a ``colt`` block) or a plain training.

The installed entry point (``python -m colt_det.train``, console script ``colt-train``);
``tools/train.py`` is the same command from a checkout.

Usage:
    python -m colt_det.train CONFIG [--work-dir DIR] [--resume] [--cfg-options k=v ...]
    torchrun --nproc_per_node 2 -m colt_det.train CONFIG --launcher pytorch   # DDP, every stage
    srun python -m colt_det.train CONFIG --launcher slurm                     # DDP under Slurm
    python -m colt_det.train CONFIG --partition I           # only partition I of every round
    python -m colt_det.train CONFIG --parallel-partitions   # all N partitions at once, locally
"""
import argparse
import os
import os.path as osp
import sys


def parse_args(argv=None):
    from mmengine.config import DictAction

    parser = argparse.ArgumentParser(description='COLT search / training')
    parser.add_argument('config', help='config file, e.g. configs/colt_faster_rcnn_voc.py')
    parser.add_argument('--work-dir', help='where tickets, logs and the summary go')
    parser.add_argument('--resume', action='store_true',
                        help='continue the search found in the work dir')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. colt.prune_ratio=0.3')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'], default='none',
                        help='pytorch: started by torchrun; slurm: started by srun (DDP)')
    parser.add_argument('--partition', type=int, metavar='I',
                        help='run only partition I of every round (start-or-join the search '
                             'in the work dir); the final training is a later --resume run')
    parser.add_argument('--parallel-partitions', action='store_true',
                        help='run the N partitions of each round as N processes at once')
    parser.add_argument('--wait-timeout', type=float, metavar='SECONDS',
                        help='partition jobs: give up waiting for the other partitions')
    parser.add_argument('--amp', action='store_true',
                        help="mixed precision (MMEngine's AmpOptimWrapper, dynamic loss scale; "
                             "needs a GPU)")
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the learning rate by (GPUs x batch) / '
                             'auto_scale_lr.base_batch_size of the config')
    parser.add_argument('--debug', action='store_true',
                        help='show tracebacks of known errors (bad input) too')
    return parser.parse_args(argv)


def apply_cli_options(cfg, amp: bool, auto_scale_lr: bool):
    """MMDetection's --amp / --auto-scale-lr, for every stage; returns an error line or None."""
    if amp:
        import torch
        if not torch.cuda.is_available():
            return ("--amp needs a GPU: MMEngine's AmpOptimWrapper runs on CUDA only; drop "
                    "--amp on this machine")
        if cfg.optim_wrapper.get('type', 'OptimWrapper') not in ('OptimWrapper',
                                                                  'AmpOptimWrapper'):
            return f'--amp: optim_wrapper type {cfg.optim_wrapper.type} is not OptimWrapper'
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if auto_scale_lr:
        if not cfg.get('auto_scale_lr', {}).get('base_batch_size'):
            return ('--auto-scale-lr: the config has no auto_scale_lr.base_batch_size: add '
                    'auto_scale_lr = dict(enable=False, base_batch_size=<batch of its lr>)')
        cfg.auto_scale_lr.enable = True
    return None


def main(argv=None) -> int:
    args = parse_args(argv)
    if not osp.isfile(args.config):
        print(f'error: config {args.config} not found: pass a file from configs/',
              file=sys.stderr)
        return 2
    from mmengine.config import Config

    from colt_det.cli import run_config
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    error = apply_cli_options(cfg, amp=args.amp, auto_scale_lr=args.auto_scale_lr)
    if error:
        print(f'error: {error}', file=sys.stderr)
        return 2
    if args.work_dir:
        cfg.work_dir = args.work_dir
    elif not cfg.get('work_dir'):
        cfg.work_dir = osp.join('work_dirs', osp.splitext(osp.basename(args.config))[0])
    return run_config(cfg, resume=args.resume, launcher=args.launcher,
                      partition=args.partition, parallel_partitions=args.parallel_partitions,
                      wait_timeout=args.wait_timeout, debug=args.debug)


if __name__ == '__main__':
    os.environ.setdefault('PYTHONHASHSEED', '0')
    sys.exit(main())
