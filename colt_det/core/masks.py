"""Masks as plain dicts ``parameter name -> bool tensor`` and the set algebra COLT needs.

A mask is keyed by the model's *unchanged* parameter names (as in ``model.named_parameters()`` of
the unwrapped model), so it survives ``state_dict`` save/load, ``deepcopy`` and DDP. ``True`` means
the weight is kept. Nothing here imports MMEngine.
"""
import fnmatch
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Mapping, Optional, Sequence

import torch
from torch import nn

Mask = Dict[str, torch.Tensor]


@dataclass
class PrunableSpec:
    """Which parameters a search may prune.

    Args:
        include (Sequence[str]): glob patterns over parameter names; a parameter must match one.
            ``['*']`` means every parameter.
        exclude (Sequence[str]): glob patterns that remove parameters again.
        conv (bool): prune conv weights (``nn.Conv*d.weight``).
        linear (bool): prune ``nn.Linear.weight``.
        norm (bool): prune the affine weights of BatchNorm/GroupNorm/LayerNorm.
    """

    include: Sequence[str] = ('*', )
    exclude: Sequence[str] = ()
    conv: bool = True
    linear: bool = False
    norm: bool = False

    @classmethod
    def from_cfg(cls, cfg: Optional[Mapping]) -> 'PrunableSpec':
        if cfg is not None and not isinstance(cfg, Mapping):
            raise ValueError(f"colt.prunable must be a dict, e.g. prunable=dict(include="
                             f"['backbone.*']), got {cfg!r}")
        cfg = dict(cfg or {})
        unknown = set(cfg) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f'unknown prunable option(s) {sorted(unknown)}: use '
                             f'{sorted(cls.__dataclass_fields__)}')
        for key in ('include', 'exclude'):
            v = cfg.get(key)
            if key in cfg and (isinstance(v, str) or not isinstance(v, (list, tuple)) or
                               not all(isinstance(p, str) for p in v)):
                raise ValueError(f'colt.prunable.{key} must be a list of glob patterns, got '
                                 f'{v!r}: e.g. {key}=[{v!r}]' if isinstance(v, str) else
                                 f'colt.prunable.{key} must be a list of glob patterns, got '
                                 f'{v!r}')
        for key in ('conv', 'linear', 'norm'):
            if key in cfg and not isinstance(cfg[key], bool):
                raise ValueError(f'colt.prunable.{key} must be True or False, got '
                                 f'{cfg[key]!r}')
        return cls(**cfg)

    def _kind_allowed(self, module: nn.Module) -> bool:
        if isinstance(module, nn.modules.conv._ConvNd):
            return self.conv
        if isinstance(module, nn.Linear):
            return self.linear
        if isinstance(module, (nn.modules.batchnorm._NormBase, nn.GroupNorm, nn.LayerNorm)):
            return self.norm
        return False

    def matches(self, name: str) -> bool:
        return (any(fnmatch.fnmatchcase(name, p) for p in self.include)
                and not any(fnmatch.fnmatchcase(name, p) for p in self.exclude))

    def select(self, model: nn.Module) -> List[str]:
        """Names of the prunable weights of ``model``, in ``named_parameters`` order."""
        names = []
        for module_name, module in model.named_modules():
            weight = getattr(module, 'weight', None)
            if not isinstance(weight, nn.Parameter) or not self._kind_allowed(module):
                continue
            name = f'{module_name}.weight' if module_name else 'weight'
            if self.matches(name):
                names.append(name)
        if not names:
            raise ValueError(f'no prunable parameters match include={list(self.include)} '
                             f'exclude={list(self.exclude)}: check the patterns against '
                             f'model.named_parameters()')
        order = {n: i for i, (n, _) in enumerate(model.named_parameters())}
        return sorted(names, key=lambda n: order.get(n, len(order)))


def ones_mask(model: nn.Module, names: Iterable[str]) -> Mask:
    """All-ones mask (nothing pruned) over ``names``."""
    params = dict(model.named_parameters())
    return {n: torch.ones_like(params[n], dtype=torch.bool, device='cpu') for n in names}


def _check_same_keys(masks: Sequence[Mask]) -> None:
    if not masks:
        raise ValueError('need at least one mask')
    keys = set(masks[0])
    for i, m in enumerate(masks[1:], start=1):
        if set(m) != keys:
            diff = sorted(keys.symmetric_difference(m))
            raise ValueError(f'mask {i} has different keys than mask 0: {diff[:5]}')
        for k in keys:
            if m[k].shape != masks[0][k].shape:
                raise ValueError(f'mask {i} key {k!r} has shape {tuple(m[k].shape)}, '
                                 f'mask 0 has {tuple(masks[0][k].shape)}')


def intersect(masks: Sequence[Mask]) -> Mask:
    """Keep a weight only if every mask keeps it (the COLT overlap)."""
    _check_same_keys(masks)
    return {k: torch.stack([m[k] for m in masks]).all(0) for k in masks[0]}


def vote(masks: Sequence[Mask], min_keep: int) -> Mask:
    """Keep a weight if at least ``min_keep`` of the masks keep it.

    ``min_keep == len(masks)`` is :func:`intersect`, ``min_keep == 1`` is the union.
    """
    _check_same_keys(masks)
    if not 1 <= min_keep <= len(masks):
        raise ValueError(f'min_keep must be in [1, {len(masks)}], got {min_keep}')
    return {k: torch.stack([m[k] for m in masks]).sum(0) >= min_keep for k in masks[0]}


def is_subset(small: Mask, big: Mask) -> bool:
    """True if every weight kept by ``small`` is kept by ``big``."""
    _check_same_keys([small, big])
    return all(bool((small[k] & ~big[k]).sum() == 0) for k in small)


@dataclass
class SparsityReport:
    """Fraction of pruned (zero) weights, overall and per layer / component."""

    overall: float
    total: int
    pruned: int
    per_layer: Dict[str, float] = field(default_factory=dict)
    per_component: Dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return dict(overall=self.overall, total=self.total, pruned=self.pruned,
                    per_layer=self.per_layer, per_component=self.per_component)


def component_of(name: str) -> str:
    """Top-level component of a parameter name (``backbone.layer1.0.conv1.weight`` -> backbone)."""
    return name.split('.', 1)[0]


def sparsity(mask: Mask) -> SparsityReport:
    """Sparsity of a mask: overall, per layer and per top-level component."""
    total = pruned = 0
    per_layer = {}
    comp_tot: Dict[str, int] = {}
    comp_pruned: Dict[str, int] = {}
    for name, m in mask.items():
        n = m.numel()
        p = n - int(m.sum())
        total += n
        pruned += p
        per_layer[name] = p / n if n else 0.0
        c = component_of(name)
        comp_tot[c] = comp_tot.get(c, 0) + n
        comp_pruned[c] = comp_pruned.get(c, 0) + p
    return SparsityReport(
        overall=pruned / total if total else 0.0, total=total, pruned=pruned,
        per_layer=per_layer,
        per_component={c: comp_pruned[c] / comp_tot[c] for c in comp_tot})


def jaccard(a: torch.Tensor, b: torch.Tensor) -> float:
    """Jaccard index of the kept sets of two bool tensors (1.0 if both keep nothing)."""
    inter = int((a & b).sum())
    uni = int((a | b).sum())
    return inter / uni if uni else 1.0


def overlap_report(masks: Sequence[Mask]) -> dict:
    """How much partition masks agree: mean pairwise Jaccard, per layer and overall.

    Returns:
        dict: ``{'mean_jaccard': float, 'per_layer': {name: float}}``; the overall value is
        computed over all prunable weights pooled together.
    """
    _check_same_keys(masks)
    pairs = [(i, j) for i in range(len(masks)) for j in range(i + 1, len(masks))]
    if not pairs:
        return dict(mean_jaccard=1.0, per_layer={k: 1.0 for k in masks[0]})
    per_layer = {
        k: sum(jaccard(masks[i][k], masks[j][k]) for i, j in pairs) / len(pairs)
        for k in masks[0]
    }
    flat = [torch.cat([m[k].flatten() for k in masks[0]]) for m in masks]
    overall = sum(jaccard(flat[i], flat[j]) for i, j in pairs) / len(pairs)
    return dict(mean_jaccard=overall, per_layer=per_layer)


def mismatch_parts(have: Mapping[str, Sequence[int]], want: Mapping[str, Sequence[int]],
                   have_name: str, want_name: str, limit: int = 3) -> List[str]:
    """Describe names of ``have`` missing from ``want`` and shape differences (empty: fits).

    Used wherever masks or tickets meet a model, so every such error reads the same.
    """
    missing = [n for n in have if n not in want]
    wrong = [f'{n}: {have_name} {tuple(have[n])} vs {want_name} {tuple(want[n])}'
             for n in have if n in want and tuple(have[n]) != tuple(want[n])]
    parts = []
    if missing:
        parts.append(f'{len(missing)} {have_name} layer(s) not in the {want_name}, e.g. '
                     f'{missing[:limit]}')
    if wrong:
        parts.append(f'{len(wrong)} shape mismatch(es), e.g. {wrong[:limit]}')
    return parts
