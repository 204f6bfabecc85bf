"""Shared command-line plumbing: one-line errors for bad input, demo data on first use."""
import sys
from typing import Optional

from mmengine.config import Config

from .core import TicketError

# Errors that mean "bad input": reported in one line, no traceback, non-zero exit.
USER_ERRORS = (ValueError, FileNotFoundError, FileExistsError, TicketError)


def run_config(cfg: Config, resume: bool = False, launcher: str = 'none',
               partition: Optional[int] = None, parallel_partitions: bool = False,
               wait_timeout: Optional[float] = None) -> int:
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
    """
    from .engine.distributed import configure_launcher, init_distributed, is_main_process, sync
    from .engine.hooks import NonFiniteLossError
    from .engine.parallel import PartitionJobError
    from .engine.search import ColtSearch, SearchError
    try:
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
            from .demo_data import ensure_demo_data
            ensure_demo_data(cfg.get('demo_data_root', 'data/demo'), cfg.demo_data)
        sync()
        if 'colt' not in cfg:
            from mmengine.runner import Runner
            cfg.resume = resume
            Runner.from_cfg(cfg).train()
            return 0
        if parallel_partitions:
            summary = _run_parallel(cfg, resume, wait_timeout)
        else:
            summary = ColtSearch(cfg, resume=resume, partition=partition,
                                 wait_timeout=wait_timeout).run()
    except (SearchError, NonFiniteLossError, PartitionJobError) + USER_ERRORS as e:
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        print(f'error: {msg}', file=sys.stderr)
        return 1
    if is_main_process():
        print(format_summary(summary))
    return 0


def _run_parallel(cfg: Config, resume: bool, wait_timeout: Optional[float]) -> dict:
    """Prepare here, run the partitions as local processes, then the final training here."""
    import os.path as osp

    from .engine.parallel import run_partitions_locally
    from .engine.search import ColtSearch
    search = ColtSearch(cfg, resume=resume)
    if search.s.method not in ('colt', 'imp'):  # checked before prepare() writes theta0
        raise ValueError(f'--parallel-partitions applies to colt/imp searches, not '
                         f'method={search.s.method!r}')
    search.prepare()  # checks and theta0 first: the processes join a started search
    # the processes load exactly this (merged) config
    config_path = osp.join(search.work_dir, 'search_config.py')
    cfg.dump(config_path)
    extra = [] if wait_timeout is None else ['--wait-timeout', str(wait_timeout)]
    run_partitions_locally(config_path, search.work_dir, len(search.groups), extra)
    return ColtSearch(cfg, resume=True).run()


def format_summary(summary: dict) -> str:
    """The search as a table: round, sparsity, partition metrics, seconds; then the final."""
    key = summary.get('metric_key', 'metric')
    lines = [f"{summary['method'].upper()} N={summary['num_partitions']} "
             f"p={summary['prune_ratio']} ({key})",
             f"{'round':>5} {'sparsity':>9} {'partition metrics':<28} {'jaccard':>7} "
             f"{'seconds':>8}"]
    for r in summary['rounds']:
        ms = ' '.join('n/a' if p['metric'] is None else f"{p['metric']:.3f}"
                      for p in r['partitions'])
        lines.append(f"{r['round']:>5} {r['sparsity']:>9.2%} {ms:<28} "
                     f"{r['overlap']['mean_jaccard']:>7.3f} {r['seconds']:>8.1f}")
    f = summary.get('final')
    if f:
        m = 'n/a' if f['metric'] is None else f"{f['metric']:.4f}"
        lines.append(f"final: sparsity {f['sparsity']:.2%}, {f['metric_split']} {key} {m}, "
                     f"{f['seconds']:.1f} s")
    return '\n'.join(lines)
