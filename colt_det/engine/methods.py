"""The search methods, by name (``colt.method``): how each finds the mask the final stage trains.

A method is one function ``(search, rounds) -> mask path or None`` plus a check of its settings;
round-based methods append one record per round to ``rounds``. To add a method, write the
function and register it::

    @register_method('mymethod', check=lambda s: ...)
    def my_mask(search, rounds):
        ...
        return path_of_a_ticket
"""
import os.path as osp
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional

import torch
from mmengine.dist import barrier, is_main_process

from ..core import load_mask, load_ticket, random_mask_like, save_ticket
from ..core.apply import state_of, unwrap
from ..core.pruning import prune_to_sparsity
from ..core.scores import weight_score
from .distributed import agree
from .errors import SearchError
from .state import load_state


@dataclass(frozen=True)
class Method:
    """A registered search method.

    Args:
        find_mask (Callable): ``(search, rounds) -> Optional[str]``: the mask (ticket) file the
            final stage trains with; None trains dense.
        check (Callable): ``(settings) -> None``; raises ValueError for settings the method
            cannot run with.
        rounds (bool): prunes in rounds of partition stages (partition jobs apply).
    """

    find_mask: Callable
    check: Callable
    rounds: bool = False


METHODS: Dict[str, Method] = {}


def register_method(name: str, check: Optional[Callable] = None, rounds: bool = False):
    """Decorator: register ``find_mask`` as method ``name``."""
    def add(find_mask: Callable) -> Callable:
        METHODS[name] = Method(find_mask, check or (lambda s: None), rounds)
        return find_mask
    return add


def _check_imp(s) -> None:
    if s.num_partitions != 1:
        raise ValueError("colt.method='imp' needs num_partitions=1 (IMP trains on all data)")


def _check_random(s) -> None:
    if not s.random_from:
        raise ValueError("colt.method='random' needs random_from='<ticket>.safetensors' "
                         "(the ticket whose per-layer sparsity the random mask copies)")


def _check_mask(s) -> None:
    if not s.mask_from:
        raise ValueError("colt.method='mask' needs mask_from='<ticket>.safetensors' (the ticket "
                         "whose mask is trained from this config's theta0)")


def _check_ticket(s) -> None:
    if not s.init_ticket:
        raise ValueError("colt.method='ticket' needs init_ticket=dict(path=...)")


def _rounds(search, rounds: List[dict]) -> Optional[str]:
    from .rounds import run_rounds
    return run_rounds(search, rounds)


# COLT: N partitions per round; IMP (LTH): the same loop with N = 1 on all classes
register_method('colt', rounds=True)(_rounds)
register_method('imp', check=_check_imp, rounds=True)(_rounds)


@register_method('dense')
def dense_mask(search, rounds: List[dict]) -> None:
    """Nothing pruned: the final schedule from the same theta0, the dense reference."""
    return None


@register_method('ticket', check=_check_ticket)
def init_ticket_mask(search, rounds: List[dict]) -> str:
    """Train ``init_ticket``'s mask as it is (e.g. a transferred ImageNet ticket)."""
    return search.work.ticket('init')


@register_method('random', check=_check_random)
def random_mask(search, rounds: List[dict]) -> str:
    """A random mask with the per-layer sparsity of the ``random_from`` ticket."""
    path = search.work.ticket('random')
    if is_main_process() and not osp.exists(path):
        g = torch.Generator().manual_seed(search.s.seed)
        mask = random_mask_like(search.random_source, g)  # checked by preflight
        save_ticket(path, mask, load_state(search.work.theta0),
                    meta=search.meta(round=0, source=search.s.random_from))
    barrier()
    return path


@register_method('oneshot')
def oneshot_mask(search, rounds: List[dict]) -> str:
    """Magnitude-prune theta0 (e.g. a pretrained backbone) once to target_sparsity."""
    path = search.work.ticket('oneshot')
    if is_main_process() and not osp.exists(path):
        theta0 = load_state(search.work.theta0)
        missing = [k for k in search.prunable if k not in theta0]
        if missing:
            raise SearchError(f'theta0 lacks prunable parameters {missing[:3]}: the config '
                              f'model changed since this search started; use a new '
                              f'--work-dir')
        weights = {n: theta0[n] for n in search.prunable}
        ones = {n: torch.ones_like(w, dtype=torch.bool) for n, w in weights.items()}
        s = search.s
        scores = weight_score(s.weight_score)(weights, theta0)
        mask = prune_to_sparsity(scores, ones, s.target_sparsity, s.prune_scope, s.min_density)
        save_ticket(path, mask, theta0, meta=search.meta(round=0, oneshot=True))
    barrier()
    return path


@register_method('gmp')
def gmp_mask(search, rounds: List[dict]) -> Optional[str]:
    """Gradual magnitude pruning inside one training run of the final schedule.

    By default the GMP run is the final stage itself (its trained, pruned weights are the final
    ticket; nothing to return here). With ``colt.gmp.rewind=True`` the GMP run trains in
    ``gmp/`` and its mask is returned, to be retrained from theta0 by the final stage.
    """
    if not search.s.gmp_options['rewind']:
        return None
    from .stage import Stage
    path, stage = search.work.ticket('gmp'), search.work.path('gmp')
    if agree(not osp.exists(path)):
        search.progress('gradual magnitude pruning (one training run) ...')
        search.run_stage(Stage(stage, kind='final', gmp=True),
                         then=lambda runner: _save_gmp_ticket(search, runner, stage, path))
    return path


def _save_gmp_ticket(search, runner, stage: str, path: str) -> None:
    if search.cfg.get('test_dataloader'):
        runner.test()  # the GMP run's own metric (result.json test_metrics)
    if is_main_process() and not osp.exists(path):
        trained = state_of(unwrap(runner.model))
        save_ticket(path, load_mask(osp.join(stage, 'mask.safetensors')),
                    load_state(search.work.theta0), trained=trained,
                    meta=search.meta(round=0, gmp=search.s.gmp_options))
    barrier()


@register_method('mask', check=_check_mask)
def given_mask(search, rounds: List[dict]) -> str:
    """``mask_from``'s mask on this search's theta0, all of it: a ticket rewound to the theta0
    it was found from, including what a ticket file does not hold (e.g. a pretrained
    backbone's BatchNorm, which ``init_ticket`` with mode 'rewind' cannot restore)."""
    path = search.work.ticket('mask')
    if is_main_process() and not osp.exists(path):
        save_ticket(path, search.mask_source, load_state(search.work.theta0),  # checked
                    meta=search.meta(round=0, source=search.s.mask_from))
    barrier()
    return path


def checked_mask_source(path: str, model: torch.nn.Module, prunable: List[str],
                        option: str) -> dict:
    """The masks of the ``option`` (random_from / mask_from) ticket, checked against the
    model's prunable layers."""
    masks = load_ticket(path).masks
    shapes = {n: tuple(p.shape) for n, p in model.named_parameters()}
    if set(masks) != set(prunable) or any(tuple(m.shape) != shapes[n] for n, m in masks.items()):
        raise SearchError(f'{option} ticket {path} masks other layers than this config '
                          f'prunes: use a ticket of the same model and prunable settings')
    return masks
