"""The final stage: the ticket trained on all classes, exported as a ticket and a checkpoint.

The final ticket is the commit: until it exists the final stage is unfinished and a resumed
search trains (or resumes) it and rewrites ``final_masked.pth`` (same weights); once it exists
neither file changes.
"""
import os.path as osp
from typing import Optional
from mmengine.dist import barrier, is_main_process

from ..core import load_mask, ones_mask, read_ticket_meta, save_ticket
from ..core.apply import state_of, unwrap
from .distributed import agree
from .faults import crash_point
from .stage import Stage
from .state import load_state, save_masked_checkpoint
from .workdir import read_json, remove_checkpoints


def train_final(search, mask: Optional[str]) -> dict:
    """Train ``mask`` (None: dense) on all classes; returns the summary's ``final`` record."""
    work = search.work
    # method='gmp' without rewinding: the final stage prunes while it trains; its own mask file
    gmp = search.s.method == 'gmp' and mask is None
    ticket_mask = osp.join(work.final_stage, 'mask.safetensors') if gmp else mask
    if agree(not osp.exists(work.final_ticket)):
        search.progress(f'final ticket training on all {len(search.classes)} classes'
                        + (' with gradual magnitude pruning' if gmp else '') + ' ...')
        search.run_stage(Stage(work.final_stage, mask=mask, kind='final', gmp=gmp),
                         then=lambda runner: _test_and_save(search, runner, ticket_mask))
    if is_main_process() and not search.s.keep_stage_checkpoints:
        remove_checkpoints(work.final_stage)  # after the ticket, also when a kill came between
    res = read_json(osp.join(work.final_stage, 'result.json'))
    metrics = res.get('test_metrics') or res.get('metrics', {})
    out = dict(sparsity=read_ticket_meta(work.final_ticket)['sparsity'],
               metric=metrics.get(search.metric_key), seconds=res.get('seconds', 0.0),
               train_samples=res.get('train_samples'),
               val_metric=res.get('metrics', {}).get(search.metric_key),
               metric_split='test' if res.get('test_metrics') else 'val')
    search.progress(f'final: sparsity {out["sparsity"]:.2%}, {out["metric_split"]} '
                    f'{search.metric_key} {_fmt(out["metric"])}')
    return out


def _fmt(metric) -> str:
    return f'{metric:.4f}' if isinstance(metric, float) else str(metric)


def _test_and_save(search, runner, mask: Optional[str]) -> None:
    if search.cfg.get('test_dataloader'):
        runner.test()
    barrier()
    if is_main_process():
        save_final(search, runner, mask)
    barrier()


def save_final(search, runner, mask_path: Optional[str]) -> None:
    """final_masked.pth, then the final ticket (mask + theta0 + trained values + dense rest)."""
    work = search.work
    model = unwrap(runner.model)
    mask = load_mask(mask_path) if mask_path else ones_mask(model, search.prunable)
    trained = state_of(model)
    save_masked_checkpoint(runner, work.final_masked, overwrite=True)
    crash_point('final_masked')
    # the rest (BN, neck, heads) whole, so the ticket alone rebuilds the trained model
    dense = {k: v for k, v in trained.items() if k not in mask}
    save_ticket(work.final_ticket, mask, load_state(work.theta0), trained=trained, dense=dense,
                meta=search.meta(round=len(work.round_tickets())))
    crash_point('final_ticket')
