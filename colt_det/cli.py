"""Shared command-line plumbing: one error boundary for every tool, demo data on first use."""
import errno
import os.path as osp
import pickle
import sys
from typing import Callable, Optional

from mmengine.config import Config

from .core import TicketError
from .report import format_summary

# Errors that mean "bad input": reported in one line, no traceback, non-zero exit.
USER_ERRORS = (ValueError, FileNotFoundError, FileExistsError, TicketError,
               pickle.UnpicklingError)
# OS errors about a path the user chose (unwritable, too long, ...): one line naming the path.
_PATH_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EISDIR,
                errno.ENAMETOOLONG, errno.ENOSPC, errno.ENOENT, errno.EEXIST}


def one_line(e: BaseException) -> str:
    """The message of ``e`` as one line (a dataloader worker's error: the original message)."""
    text = str(e).strip()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not lines:
        return type(e).__name__
    if lines[0].startswith('Caught ') and 'worker' in lines[0]:
        last = lines[-1]  # "ValueError: <message>" of the worker's traceback
        return last.split(': ', 1)[1] if ': ' in last else last
    if isinstance(e, OSError) and e.filename and e.strerror:
        fix = 'check the path' if e.errno == errno.ENOENT else 'choose another path'
        return f'{e.filename}: {e.strerror}: {fix}'
    return lines[0]


def _is_user_error(e: BaseException) -> bool:
    from .engine.hooks import NonFiniteLossError
    from .engine.parallel import PartitionJobError
    from .engine.errors import SearchError
    if isinstance(e, (SearchError, NonFiniteLossError, PartitionJobError) + USER_ERRORS):
        return True
    return isinstance(e, OSError) and e.errno in _PATH_ERRNOS and bool(e.filename)


def guarded(body: Callable[[], int], debug: bool = False) -> int:
    """Run a tool's body; a known error becomes ``error: <one line>`` and exit code 1.

    Anything else is a bug and keeps its traceback; ``debug=True`` (``--debug``) shows the
    traceback of known errors too.
    """
    from .engine.safe_load import allow_checkpoint_types
    allow_checkpoint_types()  # every tool may resume or evaluate MMEngine checkpoints
    try:
        return body()
    except Exception as e:  # noqa: BLE001  (sorted into user errors and bugs below)
        if debug or not _is_user_error(e):
            raise
        print(f'error: {one_line(e)}', file=sys.stderr)
        return 1


def refuse_existing(path: Optional[str], force: bool) -> None:
    """Outputs are never overwritten unless the user says ``--force``."""
    if path and osp.exists(path) and not force:
        raise FileExistsError(f'{path} exists and is not overwritten: choose another path or '
                              f'pass --force')


def run_config(cfg: Config, resume: bool = False, launcher: str = 'none',
               partition: Optional[int] = None, parallel_partitions: bool = False,
               wait_timeout: Optional[float] = None, debug: bool = False) -> int:
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
        debug (bool): show tracebacks of known errors too.
    """
    return guarded(lambda: _run_config(cfg, resume, launcher, partition, parallel_partitions,
                                       wait_timeout), debug)


def _run_config(cfg: Config, resume: bool, launcher: str, partition: Optional[int],
                parallel_partitions: bool, wait_timeout: Optional[float]) -> int:
    from mmengine.dist import barrier, is_main_process

    from .engine.distributed import configure_launcher, init_distributed
    from .engine.search import ColtSearch
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
    barrier()
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
    if is_main_process():
        print(format_summary(summary))
    return 0


def _run_parallel(cfg: Config, resume: bool, wait_timeout: Optional[float]) -> dict:
    """Prepare here, run the partitions as local processes, then the final training here."""
    from .engine.parallel import run_partitions_locally
    from .engine.search import ColtSearch
    search = ColtSearch(cfg, resume=resume)
    if not search.method.rounds:  # checked before prepare() writes theta0
        raise ValueError(f'--parallel-partitions applies to colt/imp searches, not '
                         f'method={search.s.method!r}')
    search.prepare()  # checks and theta0 first: the processes join a started search
    cfg.dump(search.work.search_config)  # the processes load exactly this (merged) config
    extra = [] if wait_timeout is None else ['--wait-timeout', str(wait_timeout)]
    run_partitions_locally(search.work.search_config, search.work.root, len(search.groups),
                           extra)
    return ColtSearch(cfg, resume=True).run()
