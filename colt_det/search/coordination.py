"""Partition jobs sharing one work dir: waiting for each other's files and closing a round.

Partition jobs (``--partition i``) never talk to each other; they meet through the files. A job
waits by polling for the files other jobs write, and a round is closed by whichever job sees all
N partition masks first: the round ticket is created by an exclusive link, so two jobs closing
the same round cannot both write it, and a job that finds it already written checks that it
holds the same mask.
"""
import os.path as osp
import time
from typing import Callable, List

import torch

from ..core import intersect, load_mask, overlap_report, save_ticket, sparsity, vote
from ..errors import SearchError
from ..runtime.checkpoints import load_state
from ..runtime.logging import progress
from ..runtime.records import StageRecord
from .context import SearchContext
from .workdir import WorkDir


def wait_for(ctx: SearchContext, ready: Callable[[], bool], what: str) -> None:
    """Poll until ``ready()``; other jobs write the files it looks for.

    Gives up after ``ctx.wait_timeout`` seconds (None: waits as long as it takes) and says
    what it waits for once a minute.
    """
    start = last_note = time.time()
    while not ready():
        now = time.time()
        if ctx.wait_timeout is not None and now - start > ctx.wait_timeout:
            raise SearchError(f'waited {now - start:.0f} s for {what}: start the missing '
                              f'partition job(s) with --partition i, then rerun this one')
        if now - last_note >= 60:
            progress(f'waiting for {what} ({now - start:.0f} s)')
            last_note = now
        time.sleep(ctx.wait_interval)


def stage_record(ctx: SearchContext, r: int, i: int) -> dict:
    """Partition ``i`` of round ``r`` as the summary lists it (from its result.json)."""
    res = StageRecord.read(WorkDir.stage_result(ctx.work.stage(r, i)))
    record = dict(index=i, classes=list(ctx.groups[i]), metric=res.metrics.get(ctx.metric_key),
                  seconds=res.seconds or 0.0, train_samples=res.train_samples)
    stats = res.partition_stats
    if stats:
        record.update(images=stats['images'], objects=stats['objects'])
    return record


def close_round(ctx: SearchContext, r: int, current: float) -> bool:
    """Intersect (or vote on, ``min_keep``) round ``r``'s partition masks into its ticket;
    whether this process wrote it (False: another partition job closed the round first)."""
    work, n = ctx.work, len(ctx.groups)
    masks = [load_mask(WorkDir.stage_mask(work.stage(r, i))) for i in range(n)]
    k = ctx.settings.min_keep or n
    new_mask = intersect(masks) if k == n else vote(masks, k)
    new_sparsity = sparsity(new_mask).overall
    if new_sparsity <= current + 1e-12:
        raise SearchError(f'round {r} pruned nothing (sparsity stays {current:.2%}): raise '
                          f'prune_ratio')
    ticket = work.round_ticket(r)
    seconds = sum(stage_record(ctx, r, i)['seconds'] for i in range(n))
    meta = ctx.meta(round=r, overlap=overlap_report(masks), seconds=seconds,
                       per_layer_sparsity=sparsity(new_mask).per_layer)
    try:
        save_ticket(ticket, new_mask, load_state(work.theta0), meta=meta)
    except FileExistsError:  # another partition job closed the round first
        _check_same(ticket, new_mask, r)
        return False
    return True


def _check_same(ticket: str, mask: dict, r: int) -> None:
    theirs = load_mask(ticket)
    if any(not torch.equal(theirs[n], mask[n]) for n in mask):
        raise SearchError(f'{ticket} (written by another job) differs from the intersection '
                          f'of the round {r} partition masks: the jobs use different settings; '
                          f'use a new --work-dir')


def round_ready(ctx: SearchContext, r: int) -> Callable[[], bool]:
    """True once round ``r`` is closed or every partition of it is done."""
    work, n = ctx.work, len(ctx.groups)
    ticket = work.round_ticket(r)
    return lambda: osp.exists(ticket) or all(work.stage_done(r, i) for i in range(n))


def my_partitions(ctx: SearchContext) -> List[int]:
    """The partitions this process trains: all, or the one of a partition job."""
    return list(range(len(ctx.groups))) if ctx.partition is None else [ctx.partition]
