"""The round loop of COLT and IMP.

Each round trains theta0 (masked by the last ticket) on every partition, prunes each partition's
result, and keeps the weights all partitions keep; the next round rewinds to theta0 with that
mask. The loop ends at ``target_sparsity`` or ``max_rounds``. Every step is skipped when its
file exists, so a resumed search continues with the first unfinished stage.
"""
import os.path as osp
import time
from typing import List, Optional

from mmengine.dist import barrier, is_main_process

from ..core import read_ticket_meta
from ..report.summary import eta_rounds
from ..runtime.dist import agree
from ..runtime.faults import crash_point
from ..runtime.logging import progress
from .context import SearchContext
from .coordination import close_round, my_partitions, round_ready, stage_record, wait_for
from .stage import Stage, StageRunner
from .summary import write_summary
from .tracking import track_round
from .workdir import remove_checkpoints


def run_rounds(ctx: SearchContext, stages: StageRunner, rounds: List[dict]) -> Optional[str]:
    """Run the rounds; append one record per round to ``rounds``; return the last ticket."""
    s, work = ctx.settings, ctx.work
    ticket, current = None, 0.0
    if s.init_ticket:  # continue pruning from the transferred ticket
        ticket = work.ticket('init')
        current = read_ticket_meta(ticket)['sparsity']
    for r in range(1, s.max_rounds + 1):
        if current >= s.target_sparsity - 1e-9:
            break
        started = time.time()
        trained = train_partitions(ctx, stages, r, ticket)
        closed = finish_round(ctx, r, current)
        ticket = work.round_ticket(r)
        rounds.append(round_record(ctx, r))
        current = rounds[-1]['sparsity']
        # a round finished by an earlier run leaves the summary as it is: a resume that fails
        # further on has changed no file
        report_round(ctx, rounds, time.time() - started, write=trained or closed)
        if closed:  # one record per round: by the process that closed it, once
            track_round(ctx, rounds[-1])
    if current < s.target_sparsity - 1e-9:
        progress(f'stopped at max_rounds={s.max_rounds} with sparsity {current:.2%} < '
                 f'target {s.target_sparsity:.0%}')
    return ticket


def train_partitions(ctx: SearchContext, stages: StageRunner, r: int,
                     mask: Optional[str]) -> bool:
    """Train (or resume) this process's unfinished partition stages of round ``r``; whether
    any was trained."""
    work, groups = ctx.work, ctx.groups
    trained = False
    for i in my_partitions(ctx):
        if agree(not work.stage_done(r, i) and not osp.exists(work.round_ticket(r))):
            progress(f'round {r} partition {i + 1}/{len(groups)}: {len(groups[i])} classes, '
                     f'training ...')
            stages.run(Stage(work.stage(r, i), mask=mask, group=groups[i], prune=True))
            trained = True
    return trained


def finish_round(ctx: SearchContext, r: int, current: float) -> bool:
    """Wait for the other partition jobs, write the round ticket, drop the stage checkpoints;
    whether this process closed the round (every rank gets the same answer)."""
    work = ctx.work
    if ctx.partition is not None:
        wait_for(ctx, round_ready(ctx, r), f'the other partitions of round {r}')
    closed = False
    if is_main_process() and not osp.exists(work.round_ticket(r)):
        closed = close_round(ctx, r, current)
    crash_point('round_ticket')
    if is_main_process() and not ctx.settings.keep_stage_checkpoints:
        # also after a kill right after the ticket: a resumed search cleans up
        for i in range(len(ctx.groups)):
            remove_checkpoints(work.stage(r, i))
    barrier()
    return agree(closed)


def round_record(ctx: SearchContext, r: int) -> dict:
    """Round ``r`` as the summary lists it."""
    meta = read_ticket_meta(ctx.work.round_ticket(r))
    parts = [stage_record(ctx, r, i) for i in range(len(ctx.groups))]
    return dict(round=r, sparsity=meta['sparsity'], seconds=meta['seconds'], partitions=parts,
                overlap=dict(mean_jaccard=meta['overlap']['mean_jaccard']))


def report_round(ctx: SearchContext, rounds: List[dict], seconds_this_run: float,
                 write: bool = True) -> None:
    """Progress line of the last round (with an ETA) and, with ``write``, the summary so
    far."""
    last, s = rounds[-1], ctx.settings
    metrics = ', '.join('n/a' if p['metric'] is None else f'{p["metric"]:.3f}'
                        for p in last['partitions'])
    left = eta_rounds([x['sparsity'] for x in rounds], s.target_sparsity)
    mean_s = sum(x['seconds'] for x in rounds) / len(rounds)
    eta = '' if not left else f', ~{left} more round(s), ETA ~{left * mean_s / 60:.1f} min'
    progress(f'round {last["round"]} done: sparsity {last["sparsity"]:.2%}, partition '
             f'{ctx.metric_key} [{metrics}], mean Jaccard '
             f'{last["overlap"]["mean_jaccard"]:.3f}, {last["seconds"]:.0f} s '
             f'({seconds_this_run:.0f} s this run){eta}')
    if write:
        write_summary(ctx, rounds, None)
