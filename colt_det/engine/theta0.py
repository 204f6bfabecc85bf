"""theta0, the state every round rewinds to: seeded, from an init ticket, or late-rewound."""
import os.path as osp
import re
from typing import List, Optional

import torch
from mmengine.runner import set_random_seed
from mmengine.dist import barrier, is_main_process

from ..core import atomic_write_bytes, atomic_write_json, load_ticket, ones_mask, save_ticket
from ..core import sparsity
from ..core.apply import state_of
from ..core.transfer import map_ticket
from .distributed import agree
from .errors import SearchError
from .faults import crash_point
from .methods import METHODS
from .state import save_state
from .tasks import quiet_mmengine


def make_theta0(search) -> None:
    """theta_init (seeded, with the init ticket applied), then theta0: a copy of it, or the
    weights after ``rewind_iter`` dense iterations (late rewinding). Each step is skipped when
    its file exists, so a resumed search continues where it stopped."""
    s, work = search.s, search.work
    if agree(osp.exists(work.theta0)):
        return
    if is_main_process() and not osp.exists(work.theta_init):
        set_random_seed(s.seed, deterministic=False)
        model = search.task.build_model(search.cfg)
        if hasattr(model, 'init_weights'):
            with quiet_mmengine():
                model.init_weights()
        if s.init_ticket:
            apply_init_ticket(search, model)
        save_state(work.theta_init, model)
    crash_point('theta_init')
    barrier()
    if s.rewind_iter == 0:
        if is_main_process():
            with open(work.theta_init, 'rb') as f:
                atomic_write_bytes(work.theta0, f.read())
        crash_point('theta0')
    else:
        search.progress(f'late rewinding: {s.rewind_iter} dense iterations on all classes to '
                        f'find theta0 ...')
        from .stage import Stage
        search.run_stage(Stage(work.rewind_stage, kind='rewind'))
    barrier()
    search.progress(f'theta0 (seed {s.seed}, rewind_iter {s.rewind_iter}) -> {work.theta0}')


def map_init_ticket(s, arch: str, model: torch.nn.Module, prunable: List[str]) -> tuple:
    """``colt.init_ticket`` mapped onto ``model`` and checked: (ticket, report, mask, coverage).

    A ticket of another architecture or depth, or one that covers only part of the prunable
    layers, is an error unless ``init_ticket.allow_partial=True``.
    """
    opts = s.init_ticket
    ticket = load_ticket(opts['path'])
    shapes = {n: p.shape for n, p in model.named_parameters()}
    mapped, report = map_ticket(ticket, shapes, opts.get('key_map'))
    # a layer the config leaves unpruned takes the ticket's values, but only if it is dense
    outside = sorted(n for n in set(mapped.masks) - set(prunable) if not mapped.masks[n].all())
    if outside:
        raise SearchError(f'init_ticket prunes layers this config does not prune, e.g. '
                          f'{outside[:3]}: widen colt.prunable or map fewer layers')
    mode = opts.get('mode', 'rewind')
    if not (mapped.theta0 if mode == 'rewind' else mapped.trained):
        raise SearchError(f"init_ticket {opts['path']} has no {mode} values: use "
                          f"mode='rewind' or a final ticket (which stores trained values)")
    total = sum(shapes[n].numel() for n in prunable)
    coverage = sum(shapes[n].numel() for n in prunable if n in mapped.masks) / total
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
        mask[n] = mapped.masks[n].clone()
    start = sparsity(mask).overall
    if METHODS[s.method].rounds and start >= s.target_sparsity - 1e-9:
        raise SearchError(f'init_ticket sparsity {start:.2%} already reaches target_sparsity '
                          f"{s.target_sparsity:.0%}: raise the target or use method='ticket' "
                          f'to train it as it is')
    return mapped, report, mask, coverage


def apply_init_ticket(search, model: torch.nn.Module) -> None:
    """Write the mapped ticket's masked values into ``model``; its mask starts the search."""
    opts, work = search.s.init_ticket, search.work
    mode = opts.get('mode', 'rewind')
    mapped, report, mask, coverage = search.init_ticket  # mapped and checked by preflight
    values = mapped.theta0 if mode == 'rewind' else mapped.trained
    params = dict(model.named_parameters())
    with torch.no_grad():
        for n, m in mapped.masks.items():
            params[n].copy_(values[n] * m)
    copied = _copy_trained_rest(model, mapped.dense, report.target_prefix) \
        if mode == 'trained' else []
    # a start killed after this file resumes with it (same settings, same content)
    init = work.ticket('init')
    if not osp.exists(init):
        save_ticket(init, mask, state_of(model), meta=search.meta(
            round=0, source=opts['path'], transfer=report.to_dict(), init_mode=mode))
    crash_point('init_ticket')
    atomic_write_json(work.transfer_report,
                      dict(report.to_dict(), source=opts['path'], mode=mode,
                           prunable_coverage=coverage, sparsity=sparsity(mask).overall,
                           dense_copied=copied))
    search.progress(f"init ticket {opts['path']} ({mode}): {len(report.mapped)} layers mapped, "
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
