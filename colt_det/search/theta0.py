"""theta0, the state every round rewinds to: seeded, from an init ticket, or late-rewound."""
import os.path as osp
import re
from typing import List, Optional

import torch
from mmengine.dist import barrier, is_main_process
from mmengine.runner import set_random_seed

from ..core import (
    atomic_write_bytes,
    atomic_write_json,
    load_ticket,
    ones_mask,
    save_ticket,
    sparsity,
)
from ..core.apply import state_of
from ..core.transfer import map_ticket
from ..errors import SearchError
from ..runtime.checkpoints import load_state, save_state
from ..runtime.dist import agree
from ..runtime.faults import crash_point
from ..runtime.logging import progress
from ..tasks.base import quiet_mmengine
from .context import SearchContext
from .method import get_method
from .stage import Stage, StageRunner


def make_theta0(ctx: SearchContext, stages: StageRunner) -> None:
    """theta_init (seeded, with the init ticket applied), then theta0: a copy of it, or the
    weights after ``rewind_iter`` dense iterations (late rewinding). Each step is skipped when
    its file exists, so a resumed search continues where it stopped."""
    s, work = ctx.settings, ctx.work
    if agree(osp.exists(work.theta0)):
        # a resumed search trains from this file: its values are checked as when it was made
        check_finite(load_state(work.theta0), f'theta0 {work.theta0}')
        return
    if is_main_process() and not osp.exists(work.theta_init):
        set_random_seed(s.seed, deterministic=False)
        model = ctx.task.build_model(ctx.cfg)
        if hasattr(model, 'init_weights'):
            with quiet_mmengine():
                model.init_weights()
        if s.init_ticket:
            apply_init_ticket(ctx, model)
        check_finite(model.state_dict(), init_source(ctx.cfg, s))
        save_state(work.theta_init, model)
    crash_point('theta_init')
    barrier()
    if s.rewind_iter == 0:
        if is_main_process():
            with open(work.theta_init, 'rb') as f:
                atomic_write_bytes(work.theta0, f.read())
        crash_point('theta0')
    else:
        progress(f'late rewinding: {s.rewind_iter} dense iterations on all classes to find '
                 f'theta0 ...')
        stages.run(Stage(work.rewind_stage, kind='rewind'))
    barrier()
    progress(f'theta0 (seed {s.seed}, rewind_iter {s.rewind_iter}) -> {work.theta0}')


def init_checkpoint(cfg) -> Optional[str]:
    """The checkpoint the model's (or its backbone's) ``init_cfg`` loads, if any."""
    for init in ((cfg.model.get('backbone') or {}).get('init_cfg'), cfg.model.get('init_cfg')):
        if isinstance(init, dict) and init.get('checkpoint'):
            return init['checkpoint']
    return None


def init_source(cfg, s) -> str:
    """Where theta0's values come from, for an error message."""
    if s.init_ticket:
        return f"init_ticket {s.init_ticket['path']}"
    ckpt = init_checkpoint(cfg)
    return (f"the checkpoint {ckpt} of the model's init_cfg" if ckpt
            else "the model's initialisation")


def check_finite(tensors, source: str) -> None:
    """Refuse NaN/inf values (a pruned one would turn a mask product into NaN, and a kept one
    diverges the training): the error names the tensors and where they came from."""
    bad = [n for n, t in tensors.items() if t.is_floating_point() and not bool(
        torch.isfinite(t).all())]
    if bad:
        raise SearchError(f'{source} holds NaN/inf values in {len(bad)} tensor(s), e.g. '
                          f'{bad[:3]}: fix or replace that file')


def map_init_ticket(s, arch: str, model: torch.nn.Module, prunable: List[str]) -> tuple:
    """``colt.init_ticket`` mapped onto ``model`` and checked: (ticket, report, mask, coverage).

    A ticket of another architecture or depth, or one that covers only part of the prunable
    layers, is an error unless ``init_ticket.allow_partial=True``.
    """
    opts = s.init_ticket
    ticket = load_ticket(opts['path'])
    for part in (ticket.theta0, ticket.trained or {}, ticket.dense):
        check_finite(part, f"init_ticket {opts['path']}")
    shapes = {n: p.shape for n, p in model.named_parameters()}
    mapped, report = map_ticket(ticket, shapes, opts.get('key_map'))
    channel = s.granularity == 'channel'
    if channel and not all(bool(m.all()) for m in mapped.masks.values()):
        raise SearchError(f"init_ticket {opts['path']} prunes weights, and a channel search "
                          f"starts from a dense init_ticket (e.g. a pretrained backbone): use a "
                          f"dense one, or granularity='weight'")
    # a layer the config leaves unpruned takes the ticket's values, but only if it is dense
    outside = sorted(n for n in set(mapped.masks) - set(prunable) if not mapped.masks[n].all())
    if outside:
        raise SearchError(f'init_ticket prunes layers this config does not prune, e.g. '
                          f'{outside[:3]}: widen colt.prunable or map fewer layers')
    mode = opts.get('mode', 'rewind')
    if not (mapped.theta0 if mode == 'rewind' else mapped.trained):
        raise SearchError(f"init_ticket {opts['path']} has no {mode} values: use "
                          f"mode='rewind' or a final ticket (which stores trained values)")
    # a channel mask also covers BatchNorms and biases, which a weight ticket holds whole (its
    # dense part), and channel groups reach past the backbone (FPN laterals) that a backbone
    # ticket cannot hold: the coverage counts the masked convs' weights under the ticket's part
    covered = [n for n in prunable if not channel
               or (len(shapes[n]) > 1 and n.startswith(report.target_prefix))]
    total = sum(shapes[n].numel() for n in covered)
    coverage = sum(shapes[n].numel() for n in covered if n in mapped.masks) / total
    src_arch = str(ticket.meta.get('arch', '?'))
    src_depth, depth = _depth(src_arch), _depth(arch)
    wrong_depth = src_depth is not None and depth is not None and src_depth != depth
    if (coverage < 1.0 or wrong_depth) and not opts.get('allow_partial', False):
        raise SearchError(f"init_ticket {opts['path']} (arch {src_arch}) covers "
                          f"{coverage:.1%} of this model's prunable weights (arch {arch}): "
                          f"use a ticket of the same architecture and depth, or set "
                          f"colt.init_ticket.allow_partial=True to train the rest dense")
    mask = ones_mask(model, prunable)
    for n in set(mapped.masks) & set(prunable):
        mask[n] = mapped.masks[n].clone() if not channel else mask[n]
    start = sparsity(mask).overall
    if get_method(s.method).rounds and start >= s.target_sparsity - 1e-9:
        raise SearchError(f'init_ticket sparsity {start:.2%} already reaches target_sparsity '
                          f"{s.target_sparsity:.0%}: raise the target or use method='ticket' "
                          f'to train it as it is')
    return mapped, report, mask, coverage


def apply_init_ticket(ctx: SearchContext, model: torch.nn.Module) -> None:
    """Write the mapped ticket's masked values into ``model``; its mask starts the search."""
    opts, work = ctx.settings.init_ticket, ctx.work
    mode = opts.get('mode', 'rewind')
    mapped, report, mask, coverage = ctx.sources.init_ticket  # mapped and checked by preflight
    values = mapped.theta0 if mode == 'rewind' else mapped.trained
    params = dict(model.named_parameters())
    with torch.no_grad():
        for n, m in mapped.masks.items():
            params[n].copy_(values[n].masked_fill(~m, 0.0))
    copied = _copy_trained_rest(model, mapped.dense, report.target_prefix) \
        if mode == 'trained' else []
    # a start killed after this file resumes with it (same settings, same content)
    init = work.ticket('init')
    if not osp.exists(init):
        save_ticket(init, mask, state_of(model), meta=ctx.meta(
            round=0, source=opts['path'], transfer=report.to_dict(), init_mode=mode))
    crash_point('init_ticket')
    atomic_write_json(work.transfer_report,
                      dict(report.to_dict(), source=opts['path'], mode=mode,
                           prunable_coverage=coverage, sparsity=sparsity(mask).overall,
                           dense_copied=copied))
    progress(f"init ticket {opts['path']} ({mode}): {len(report.mapped)} layers mapped, "
                    f"{len(report.dropped)} dropped, covers {coverage:.1%} of the prunable "
                    f"weights ({report.coverage:.1%} of {report.target_prefix}* parameters), "
                    f"{len(copied)} trained non-pruned tensors (BatchNorm) copied, "
                    f"sparsity {sparsity(mask).overall:.2%}")


def _copy_trained_rest(model: torch.nn.Module, dense: dict, prefix: str) -> List[str]:
    """A pretrained backbone comes with its BatchNorm parameters and statistics: copy the
    ticket's trained non-pruned tensors under ``prefix`` whose name and shape match."""
    state = model.state_dict()
    copied = [n for n, t in dense.items()
              if n.startswith(prefix) and n in state and state[n].shape == t.shape]
    with torch.no_grad():
        for n in copied:
            state[n].copy_(dense[n])
    return sorted(copied)


def _depth(arch: str) -> Optional[int]:
    """The depth in an architecture name (``FasterRCNN/ResNet18`` -> 18), if it has one."""
    m = re.search(r'(\d+)$', arch)
    return int(m.group(1)) if m else None
