"""Magnitude pruning (global or layer-wise) and the random-ticket baseline.

Follows open_lth's ``pruning/sparse_global.py``: prune a fraction of the weights that are *still
unpruned*, ranking them by absolute value, either across all prunable layers at once (global) or
inside each layer (layer-wise).
"""
from typing import Mapping, Optional

import torch

from .masks import Mask


def _check_fraction(name: str, value: float) -> None:
    if not 0.0 < value < 1.0:
        raise ValueError(f'{name} must be in (0, 1), got {value}: e.g. 0.2 prunes 20% per round')


def magnitude_prune(weights: Mapping[str, torch.Tensor], mask: Mask, ratio: float,
                    scope: str = 'global') -> Mask:
    """Prune ``ratio`` of the still-unpruned weights by magnitude.

    Args:
        weights (Mapping[str, Tensor]): current (trained) values of the prunable parameters.
        mask (Mask): current mask; only weights it keeps are candidates.
        ratio (float): fraction of the remaining weights to remove, in (0, 1).
        scope (str): ``'global'`` ranks all layers together, ``'layer'`` each layer on its own.

    Returns:
        Mask: a new mask, a subset of ``mask``. Ties at the threshold are broken by position so the
        number removed is exact and deterministic.
    """
    _check_fraction('prune_ratio', ratio)
    if set(weights) != set(mask):
        missing = sorted(set(mask) - set(weights))
        extra = sorted(set(weights) - set(mask))
        raise ValueError(f'weights and mask keys differ: missing {missing[:5]}, extra {extra[:5]}')
    if scope == 'global':
        names = list(mask)
        scores = torch.cat([weights[n].detach().abs().flatten().float().cpu() for n in names])
        alive = torch.cat([mask[n].flatten() for n in names])
        new_alive = _prune_vector(scores, alive, ratio)
        out, start = {}, 0
        for n in names:
            k = mask[n].numel()
            out[n] = new_alive[start:start + k].view_as(mask[n])
            start += k
        return out
    if scope == 'layer':
        return {
            n: _prune_vector(weights[n].detach().abs().flatten().float().cpu(),
                             mask[n].flatten(), ratio).view_as(mask[n])
            for n in mask
        }
    raise ValueError(f"prune scope must be 'global' or 'layer', got {scope!r}")


def _prune_vector(scores: torch.Tensor, alive: torch.Tensor, ratio: float) -> torch.Tensor:
    """Drop the ``round(ratio * alive)`` smallest-scoring alive entries."""
    n_alive = int(alive.sum())
    n_prune = int(round(ratio * n_alive))
    new_alive = alive.clone()
    if n_prune == 0:
        return new_alive
    idx = alive.nonzero().flatten()
    # stable sort: equal magnitudes are pruned in index order -> deterministic
    order = torch.sort(scores[idx], stable=True).indices
    new_alive[idx[order[:n_prune]]] = False
    return new_alive


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
