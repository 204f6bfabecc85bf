"""Pruning by score (global or layer-wise), with an optional per-layer floor, and random masks.

Follows open_lth's ``pruning/sparse_global.py``: prune a fraction of the weights that are *still
unpruned*, ranking them by a score (:mod:`colt_det.core.scores`; magnitude by default), either
across all prunable layers at once (global) or inside each layer (layer-wise). Ties are broken
by position (a stable sort), so the number removed is exact and the result deterministic.

``min_density`` is the layer-collapse guard: every layer keeps at least that fraction of its
weights (its best-scoring ones), which global pruning at 90-98% sparsity otherwise takes away
from the layers whose weights are small (a layer with every weight pruned cuts the network).
"""
import math
from typing import Dict, List, Mapping, Optional

import torch

from .masks import Mask

SCOPES = ('global', 'layer')


def _check_fraction(name: str, value: float) -> None:
    if not 0.0 < value < 1.0:
        raise ValueError(f'{name} must be in (0, 1), got {value}: e.g. 0.2 prunes 20% per round')


def _check_inputs(scores: Mapping[str, torch.Tensor], mask: Mask, scope: str,
                  min_density: float) -> None:
    if set(scores) != set(mask):
        missing = sorted(set(mask) - set(scores))
        extra = sorted(set(scores) - set(mask))
        raise ValueError(f'weights and mask keys differ: missing {missing[:5]}, extra {extra[:5]}')
    if scope not in SCOPES:
        raise ValueError(f"prune scope must be 'global' or 'layer', got {scope!r}")
    if not 0.0 <= min_density < 1.0:
        raise ValueError(f'min_density must be in [0, 1), got {min_density}')


def prune_by_score(scores: Mapping[str, torch.Tensor], mask: Mask, ratio: float,
                   scope: str = 'global', min_density: float = 0.0) -> Mask:
    """Prune ``ratio`` of the still-kept weights, the lowest-scoring first.

    Args:
        scores (Mapping[str, Tensor]): one score per weight (higher = keep), e.g. ``|w|``.
        mask (Mask): current mask; only weights it keeps are candidates.
        ratio (float): fraction of the kept weights to remove, in (0, 1).
        scope (str): ``'global'`` ranks all layers together, ``'layer'`` each layer on its own.
        min_density (float): every layer keeps at least this fraction of its weights (never
            more than it keeps now): the layer-collapse guard. 0 disables it.

    Returns:
        Mask: a new mask, a subset of ``mask``. With the guard, fewer than ``ratio`` may go
        where the floors leave too few candidates.
    """
    _check_fraction('prune_ratio', ratio)
    _check_inputs(scores, mask, scope, min_density)
    if scope == 'global':
        alive = sum(int(m.sum()) for m in mask.values())
        return _prune_global(scores, mask, int(round(ratio * alive)), min_density)
    return {n: _prune_layer(scores[n], mask[n], int(round(ratio * int(mask[n].sum()))),
                            min_density) for n in mask}


def prune_to_sparsity(scores: Mapping[str, torch.Tensor], mask: Mask, target: float,
                      scope: str = 'global', min_density: float = 0.0) -> Mask:
    """Prune the lowest-scoring kept weights until ``target`` of all weights are pruned.

    One-shot pruning and every step of gradual magnitude pruning (GMP). ``'layer'``: each layer
    to ``target``. Nothing is pruned where the mask is already at least that sparse.
    """
    if not 0.0 <= target < 1.0:
        raise ValueError(f'target sparsity must be in [0, 1), got {target}')
    _check_inputs(scores, mask, scope, min_density)
    if scope == 'global':
        total = sum(m.numel() for m in mask.values())
        pruned = total - sum(int(m.sum()) for m in mask.values())
        return _prune_global(scores, mask, max(0, int(round(target * total)) - pruned),
                             min_density)
    return {n: _prune_layer(scores[n], m,
                            max(0, int(round(target * m.numel())) - (m.numel() - int(m.sum()))),
                            min_density) for n, m in mask.items()}


def magnitude_prune(weights: Mapping[str, torch.Tensor], mask: Mask, ratio: float,
                    scope: str = 'global', min_density: float = 0.0) -> Mask:
    """:func:`prune_by_score` with the magnitude ``|w|`` as the score."""
    return prune_by_score({n: w.detach().abs() for n, w in weights.items()}, mask, ratio,
                          scope, min_density)


def _floor(numel: int, min_density: float) -> int:
    return math.ceil(min_density * numel) if min_density > 0 else 0


def _order(scores: torch.Tensor, alive: torch.Tensor) -> torch.Tensor:
    """Indices of the alive entries, lowest score first (stable: ties by position)."""
    idx = alive.nonzero().flatten()
    return idx[torch.sort(scores[idx], stable=True).indices]


def _prune_layer(scores: torch.Tensor, mask: torch.Tensor, n_prune: int,
                 min_density: float) -> torch.Tensor:
    alive = mask.flatten()
    n_alive = int(alive.sum())
    n_prune = min(n_prune, max(0, n_alive - _floor(alive.numel(), min_density)))
    out = alive.clone()
    if n_prune > 0:
        out[_order(scores.detach().flatten().float().cpu(), alive)[:n_prune]] = False
    return out.view_as(mask)


def _prune_global(scores: Mapping[str, torch.Tensor], mask: Mask, n_prune: int,
                  min_density: float) -> Mask:
    names: List[str] = list(mask)
    flat_scores = [scores[n].detach().flatten().float().cpu() for n in names]
    flat_alive = [mask[n].flatten() for n in names]
    candidates = []
    for s, a in zip(flat_scores, flat_alive):
        c = a.clone()
        keep = _floor(a.numel(), min_density)
        if keep:  # the layer's best-scoring kept weights are no candidates
            c[_order(s, a)[max(0, int(a.sum()) - keep):]] = False
        candidates.append(c)
    all_scores, all_cand = torch.cat(flat_scores), torch.cat(candidates)
    new_alive = torch.cat(flat_alive).clone()
    order = _order(all_scores, all_cand)
    new_alive[order[:min(n_prune, order.numel())]] = False
    out: Dict[str, torch.Tensor] = {}
    start = 0
    for n in names:
        k = mask[n].numel()
        out[n] = new_alive[start:start + k].view_as(mask[n])
        start += k
    return out


def random_mask_like(mask: Mask, generator: Optional[torch.Generator] = None) -> Mask:
    """Random mask with exactly the per-layer sparsity of ``mask`` (the random-ticket baseline)."""
    out = {}
    for n, m in mask.items():
        keep = int(m.sum())
        perm = torch.randperm(m.numel(), generator=generator)
        flat = torch.zeros(m.numel(), dtype=torch.bool)
        flat[perm[:keep]] = True
        out[n] = flat.view_as(m)
    return out
