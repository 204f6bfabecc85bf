"""Run a COLT / IMP / random-ticket search (configs with a ``colt`` block) or a plain training.

Installed as ``colt-train`` (also ``python -m colt_det.train``); ``tools/train.py`` is the same
command from a checkout.

Usage:
    colt-train CONFIG [--work-dir DIR] [--resume [--allow-changed]] [--cfg-options k=v ...]
    colt-train colt_det::colt_faster_rcnn_voc.py ...       # a config shipped with colt_det
    torchrun --nproc_per_node 2 -m colt_det.train CONFIG --launcher pytorch   # DDP, every stage
    srun python -m colt_det.train CONFIG --launcher slurm                     # DDP under Slurm
    colt-train CONFIG --partition I           # only partition I of every round
    colt-train CONFIG --parallel-partitions   # all N partitions at once, locally
"""
import argparse
import os
import os.path as osp
import sys
from typing import Optional

from . import guarded, load_config


def parse_args(argv=None):
    from mmengine.config import DictAction

    parser = argparse.ArgumentParser(description='COLT search / training')
    parser.add_argument('config', help='config file, e.g. configs/colt_faster_rcnn_voc.py, or '
                                       'colt_det::colt_faster_rcnn_voc.py')
    parser.add_argument('--work-dir', help='where tickets, logs and the summary go')
    parser.add_argument('--resume', action='store_true',
                        help='continue the search found in the work dir')
    parser.add_argument('--allow-changed', action='store_true',
                        help='--resume: accept a changed model, data, schedule or optimizer '
                             '(refused otherwise, naming the changed keys)')
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


def apply_cli_options(cfg, amp: bool, auto_scale_lr: bool) -> None:
    """MMDetection's --amp / --auto-scale-lr, for every stage (a ValueError if impossible)."""
    if amp:
        import torch
        if not torch.cuda.is_available():
            raise ValueError("--amp needs a GPU: MMEngine's AmpOptimWrapper runs on CUDA only; "
                             "drop --amp on this machine")
        if cfg.optim_wrapper.get('type', 'OptimWrapper') not in ('OptimWrapper',
                                                                  'AmpOptimWrapper'):
            raise ValueError(f'--amp: optim_wrapper type {cfg.optim_wrapper.type} is not '
                             f'OptimWrapper')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if auto_scale_lr:
        if not cfg.get('auto_scale_lr', {}).get('base_batch_size'):
            raise ValueError('--auto-scale-lr: the config has no auto_scale_lr.base_batch_size: '
                             'add auto_scale_lr = dict(enable=False, base_batch_size=<batch of '
                             'its lr>)')
        cfg.auto_scale_lr.enable = True


def main(argv=None) -> int:
    # as tools/train.py and python -m colt_det.train: the processes a search starts (partition
    # jobs, dataloader workers) hash strings alike (this process's own seed is fixed at start)
    os.environ.setdefault('PYTHONHASHSEED', '0')
    args = parse_args(argv)

    def body() -> int:
        cfg = load_config(args.config, args.cfg_options)
        apply_cli_options(cfg, amp=args.amp, auto_scale_lr=args.auto_scale_lr)
        if args.work_dir:
            cfg.work_dir = args.work_dir
        elif not cfg.get('work_dir'):
            cfg.work_dir = osp.join('work_dirs', osp.splitext(osp.basename(args.config))[0])
        return run_config(cfg, resume=args.resume, launcher=args.launcher,
                          partition=args.partition,
                          parallel_partitions=args.parallel_partitions,
                          wait_timeout=args.wait_timeout, allow_changed=args.allow_changed)
    return guarded(body, args.debug)


def run_config(cfg, resume: bool = False, launcher: str = 'none',
               partition: Optional[int] = None, parallel_partitions: bool = False,
               wait_timeout: Optional[float] = None, allow_changed: bool = False) -> int:
    """Run the search (or plain training) a config describes; returns the exit code.

    Args:
        cfg (Config): the merged config (``work_dir`` set).
        resume (bool): continue the search in the work dir.
        launcher (str): ``'none'``, ``'pytorch'`` (torchrun) or ``'slurm'`` (srun): every stage
            trains with MMEngine DDP over torch.distributed.
        partition (int, optional): run only this partition of every round (a partition job).
        parallel_partitions (bool): run the N partitions of each round as N local processes,
            then the final training here.
        wait_timeout (float, optional): partition jobs give up waiting for the others after
            this many seconds.
        allow_changed (bool): a resumed search accepts a changed config (recorded anew).
    """
    from mmengine.dist import barrier, is_main_process

    from ..report.summary import format_summary
    from ..runtime.dist import configure_launcher, init_distributed
    from ..search import ColtSearch
    if parallel_partitions and (launcher != 'none' or partition is not None):
        raise ValueError('--parallel-partitions starts its own single-process partition '
                         'jobs: drop --launcher/--partition (or run partition jobs yourself)')
    if (partition is not None or parallel_partitions) and 'colt' not in cfg:
        raise ValueError('--partition/--parallel-partitions need a config with a colt '
                         'block (a search)')
    init_distributed(launcher, cfg.get('env_cfg', {}).get('dist_cfg', {}).get('backend'))
    configure_launcher(cfg, launcher)
    # one writer: rank 0 (and, for partition jobs, partition 0, which the others wait for)
    if cfg.get('demo_data') and is_main_process() and not partition:
        from ..synthetic import ensure_demo_data
        ensure_demo_data(cfg.get('demo_data_root', 'data/demo'), cfg.demo_data)
    barrier()
    if 'colt' not in cfg:
        from mmengine.runner import Runner
        cfg.resume = resume
        Runner.from_cfg(cfg).train()
        return 0
    if parallel_partitions:
        summary = _run_parallel(cfg, resume, wait_timeout, allow_changed)
    else:
        summary = ColtSearch(cfg, resume=resume, partition=partition,
                             wait_timeout=wait_timeout, allow_changed=allow_changed).run()
    if is_main_process():
        print(format_summary(summary))
    return 0


def _run_parallel(cfg, resume: bool, wait_timeout: Optional[float], allow_changed: bool) -> dict:
    """Prepare here, run the partitions as local processes, then the final training here."""
    from ..search import ColtSearch
    from ..search.parallel import run_partitions_locally
    search = ColtSearch(cfg, resume=resume, allow_changed=allow_changed)
    if not search.method.rounds:  # checked before prepare() writes theta0
        raise ValueError(f'--parallel-partitions applies to colt/imp searches, not '
                         f'method={search.settings.method!r}')
    ctx = search.prepare()  # checks and theta0 first: the processes join a started search
    cfg.dump(ctx.work.search_config)  # the processes load exactly this (merged) config
    extra = [] if wait_timeout is None else ['--wait-timeout', str(wait_timeout)]
    run_partitions_locally(ctx.work.search_config, ctx.work.root, len(ctx.groups), extra)
    return ColtSearch(cfg, resume=True).run()


if __name__ == '__main__':
    os.environ.setdefault('PYTHONHASHSEED', '0')
    sys.exit(main())
