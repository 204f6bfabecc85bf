"""The final stage: the ticket trained on all classes, exported as a ticket and a checkpoint.

The final ticket is the commit: until it exists the final stage is unfinished and a resumed
search trains (or resumes) it and rewrites ``final_masked.pth`` (same weights); once it exists
neither file changes.
"""
import os.path as osp
from typing import Optional, Sequence

from mmengine.dist import barrier, is_main_process

from ..core import load_mask, ones_mask, read_ticket_meta, save_ticket
from ..core.apply import state_of, unwrap
from ..runtime.checkpoints import load_state, save_masked_checkpoint
from ..runtime.dist import agree
from ..runtime.faults import crash_point
from ..runtime.logging import progress
from ..runtime.records import StageRecord
from .context import SearchContext
from .stage import Stage, StageRunner
from .workdir import WorkDir, remove_checkpoints


def train_final(ctx: SearchContext, stages: StageRunner, mask: Optional[str],
                hooks: Sequence[dict] = (), own_mask: bool = False, what: str = '') -> dict:
    """Train ``mask`` (None: dense) on all classes; returns the summary's ``final`` record.

    Args:
        hooks: hook configs the method adds to the final stage (e.g. GMP's pruning).
        own_mask: the stage writes the ticket's mask itself (``final/mask.safetensors``: a
            method that prunes while the final stage trains).
        what: how the progress line names that pruning.
    """
    work = ctx.work
    ticket_mask = WorkDir.stage_mask(work.final_stage) if own_mask else mask
    if agree(not osp.exists(work.final_ticket)):
        progress(f'final ticket training on all {len(ctx.classes)} classes'
                 + (f' with {what}' if what else '') + ' ...')
        stages.run(Stage(work.final_stage, mask=mask, kind='final', hooks=list(hooks)),
                   then=lambda runner: test_and_save(ctx, runner, ticket_mask))
    if is_main_process() and not ctx.settings.keep_stage_checkpoints:
        remove_checkpoints(work.final_stage)  # after the ticket, also when a kill came between
    res = StageRecord.read(WorkDir.stage_result(work.final_stage))
    out = dict(sparsity=read_ticket_meta(work.final_ticket)['sparsity'],
               metric=res.metric(ctx.metric_key), seconds=res.seconds or 0.0,
               train_samples=res.train_samples, val_metric=res.metrics.get(ctx.metric_key),
               metric_split='test' if res.test_metrics else 'val')
    progress(f'final: sparsity {out["sparsity"]:.2%}, {out["metric_split"]} '
             f'{ctx.metric_key} {_fmt(out["metric"])}')
    return out


def _fmt(metric) -> str:
    return f'{metric:.4f}' if isinstance(metric, float) else str(metric)


def test_and_save(ctx: SearchContext, runner, mask: Optional[str], save=None) -> None:
    """Test the trained model (if the config has a test set), then save it (rank 0):
    ``save(ctx, runner, mask)``, by default :func:`save_final`."""
    if ctx.cfg.get('test_dataloader'):
        runner.test()
    barrier()
    if is_main_process():
        (save or save_final)(ctx, runner, mask)
    barrier()


def save_final(ctx: SearchContext, runner, mask_path: Optional[str]) -> None:
    """final_masked.pth, then the final ticket (mask + theta0 + trained values + dense rest)."""
    work = ctx.work
    model = unwrap(runner.model)
    mask = load_mask(mask_path) if mask_path else ones_mask(model, ctx.prunable)
    trained = state_of(model)
    save_masked_checkpoint(runner, work.final_masked, overwrite=True)
    crash_point('final_masked')
    # the rest (BN, neck, heads) whole, so the ticket alone rebuilds the trained model
    dense = {k: v for k, v in trained.items() if k not in mask}
    save_ticket(work.final_ticket, mask, load_state(work.theta0), trained=trained, dense=dense,
                meta=ctx.meta(round=len(work.round_tickets())))
    crash_point('final_ticket')
