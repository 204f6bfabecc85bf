"""Local parallel partitions: one ``python -m colt_det.train --partition i`` process each.

Inside a COLT round the N partition trainings are independent, so they can run at the same time.
This module starts them as ordinary processes on this machine (the cluster form is one Slurm job
per partition, see docs/distributed.md), shares the CPU cores between them, relays their
``[colt]`` progress lines with a ``[pI]`` prefix, and stops all of them if one fails.
"""
import os
import os.path as osp
import subprocess
import sys
import threading
import time
from typing import List, Optional

from ..errors import PartitionJobError
from ..runtime.logging import progress
from .workdir import WorkDir


def run_partitions_locally(config: str, work_dir: str, num_partitions: int,
                           extra_args: Optional[List[str]] = None,
                           threads_per_job: Optional[int] = None,
                           poll_seconds: float = 1.0) -> None:
    """Run partitions ``0..N-1`` of a search as N processes at once and wait for all of them.

    Args:
        config (str): the config file every process loads.
        work_dir (str): the shared work dir (already prepared: theta0 written).
        num_partitions (int): N.
        extra_args (List[str], optional): more ``colt_det.train`` arguments (``--cfg-options``).
        threads_per_job (int, optional): torch/OpenMP threads per process; default: the CPU
            count divided by N (an ``OMP_NUM_THREADS`` the user set wins).
        poll_seconds (float): how often the processes are checked.

    Raises:
        PartitionJobError: a process exited non-zero (the others are stopped).
    """
    threads = threads_per_job or max(1, (os.cpu_count() or 1) // num_partitions)
    env = dict(os.environ)
    env.setdefault('OMP_NUM_THREADS', str(threads))
    log_dir = WorkDir(work_dir).logs
    os.makedirs(log_dir, exist_ok=True)
    procs, relays, logs = [], [], []
    for i in range(num_partitions):
        log = osp.join(log_dir, f'partition_{i}.log')
        # the installed entry point: works from any cwd and without the source checkout
        cmd = [sys.executable, '-m', 'colt_det.train', config, '--work-dir', work_dir,
               '--partition', str(i), *(extra_args or [])]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, env=env)
        relay = threading.Thread(target=_relay, args=(proc, log, f'[p{i}]'), daemon=True)
        relay.start()
        procs.append(proc)
        relays.append(relay)
        logs.append(log)
    progress(f'started {num_partitions} partition processes ({env["OMP_NUM_THREADS"]} '
             f'thread(s) each), logs in {log_dir}')
    failed = _wait_all(procs, relays, poll_seconds)
    if failed:  # the partition that failed, not one terminated because of it
        i = failed[0]
        raise PartitionJobError(f'partition {i} failed (exit {procs[i].returncode}): '
                                f'{_last_error(logs[i])}; full log {logs[i]}; fix it and rerun '
                                f'with --resume')


def _wait_all(procs: List[subprocess.Popen], relays: List[threading.Thread],
              poll_seconds: float) -> List[int]:
    """Wait until every process exits or one fails; stop the rest (also on an interrupt).

    Returns:
        List[int]: the partitions that failed on their own, before any was terminated.
    """
    failed: List[int] = []
    try:
        while any(p.poll() is None for p in procs):
            failed = [i for i, p in enumerate(procs) if p.poll() not in (None, 0)]
            if failed:
                break
            time.sleep(poll_seconds)
    finally:
        failed = failed or [i for i, p in enumerate(procs) if p.poll() not in (None, 0)]
        running = [p for p in procs if p.poll() is None]
        for p in running:
            p.terminate()
        for p in running:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        for r in relays:
            r.join(timeout=10)
    return failed


def _relay(proc: subprocess.Popen, log_path: str, prefix: str) -> None:
    """Copy a process's output to its log; show its progress and errors on our stdout."""
    with open(log_path, 'a', encoding='utf-8') as log:
        for line in proc.stdout:
            log.write(line)
            log.flush()
            if line.startswith('[colt]') or line.startswith('error:'):
                print(f'{prefix} {line}', end='', flush=True)


def _last_error(log_path: str) -> str:
    try:
        with open(log_path, encoding='utf-8') as f:
            lines = [ln.strip() for ln in f if ln.strip()]
    except OSError:
        return 'no log'
    errors = [ln for ln in lines if ln.startswith('error:') or 'Error' in ln]
    return (errors or lines or ['no output'])[-1]
