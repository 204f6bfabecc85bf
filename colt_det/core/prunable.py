"""Which parameters a search masks: a weight mask (``colt.prunable``) or channel groups."""
import copy
import weakref
from typing import List, Optional, Tuple

import torch
from torch import nn

from .apply import unwrap
from .channels import ChannelGroup, channel_param_names, find_channel_groups
from .masks import PrunableSpec

# the input a backbone's channel graph is traced with (any size its strides divide works)
TRACE_SHAPE = (1, 3, 64, 64)


CHANNEL_DEPTHS = ('inner', 'deep')


class _BackboneNeck(nn.Module):
    """``extract_feat``: the backbone and (if any) the neck, traced as one module."""

    def __init__(self, backbone: nn.Module, neck: Optional[nn.Module]) -> None:
        super().__init__()
        self.backbone = backbone
        self.neck = neck

    def forward(self, x):
        x = self.backbone(x)
        return self.neck(x) if self.neck is not None else x


def feature_module(model: nn.Module) -> nn.Module:
    """The model's backbone + neck as one module whose parameter names are the model's."""
    model = unwrap(model)
    return _BackboneNeck(model.backbone, getattr(model, 'neck', None))


def channel_groups(model: nn.Module, depth: str = 'inner') -> List[ChannelGroup]:
    """The channel groups of ``model.backbone`` (names as in ``model``).

    Args:
        model (nn.Module): a model with a ``backbone`` (and optionally a ``neck``).
        depth (str): ``'inner'``: each block's inner channels; ``'deep'``: every channel of
            backbone + neck that is not one of the neck's outputs (the residual streams, the
            stem, the FPN's lateral channels), see :mod:`colt_det.core.channels`.
    """
    if depth not in CHANNEL_DEPTHS:
        raise ValueError(f'colt.channel_groups must be one of {list(CHANNEL_DEPTHS)}, got '
                         f'{depth!r}')
    model = unwrap(model)
    traced = _TRACED.setdefault(model, {})
    if depth not in traced:  # one trace per model: the hooks of a stage share it
        traced[depth] = _trace(model, depth)
    return copy.deepcopy(traced[depth])  # a caller's edit never reaches the next one


# the channel groups of each live model, by depth: the graph depends on the architecture only
# (masks change no shape), so a stage's mask, prune and record hooks trace it once
_TRACED: 'weakref.WeakKeyDictionary[nn.Module, dict]' = weakref.WeakKeyDictionary()


def _trace(model: nn.Module, depth: str) -> List[ChannelGroup]:
    backbone = getattr(model, 'backbone', None)
    if backbone is None:
        raise ValueError("colt.granularity='channel' prunes model.backbone, and this model "
                         "has none: use granularity='weight'")
    device = next(backbone.parameters()).device
    example = torch.randn(TRACE_SHAPE, device=device)
    if depth == 'inner':
        groups = find_channel_groups(backbone, example, 'backbone.')
    else:
        groups = find_channel_groups(_BackboneNeck(backbone, getattr(model, 'neck', None)),
                                     example, coupled=True)
    if not groups:
        raise ValueError('model.backbone has no channel group that can be pruned alone (every '
                         "channel is tied to a residual sum or an output): use "
                         "granularity='weight'")
    return groups


def masked_params(model: nn.Module, spec: PrunableSpec, granularity: str,
                  depth: str = 'inner') -> Tuple[List[str], Optional[List[ChannelGroup]]]:
    """The parameter names the masks of a search cover, and the channel groups (or None)."""
    if granularity == 'channel':
        groups = channel_groups(model, depth)
        return channel_param_names(groups), groups
    return spec.select(unwrap(model)), None


def torch_pruning_mask(model: nn.Module, groups: List[ChannelGroup], ratio: float,
                       divisor: int = 1, importance: str = 'group_magnitude') -> dict:
    """The channel mask Torch-Pruning's own pruner picks: ``MetaPruner`` with
    ``GroupMagnitudeImportance`` (the group's L2 norm; ``GroupNormImportance`` in older
    releases), ``ratio`` of every group's channels, on a copy of the model's backbone + neck
    (the neck's output convs ignored, so its outputs keep their width).

    Its choices are read from the pruner (the pruned indices of each group's convs) and become
    a mask over ``groups`` (:func:`channel_groups` with ``depth='deep'``: the same dependency
    graph), so the ticket trains, resumes and exports like any other channel ticket.
    """
    import copy

    import torch_pruning as tp

    from .channels import channel_mask
    if importance != 'group_magnitude':
        raise ValueError(f"Torch-Pruning importance must be 'group_magnitude', got "
                         f"{importance!r}")
    model = unwrap(model)
    wrapper = _BackboneNeck(copy.deepcopy(model.backbone), copy.deepcopy(
        getattr(model, 'neck', None))).eval()
    outputs = [m for n, m in wrapper.named_modules() if n.startswith('neck.fpn_convs')]
    pruner = tp.pruner.MetaPruner(
        wrapper, torch.randn(TRACE_SHAPE), importance=tp.importance.GroupMagnitudeImportance(p=2),
        pruning_ratio=ratio, ignored_layers=outputs, round_to=divisor if divisor > 1 else None)
    names = {m: n for n, m in wrapper.named_modules()}
    pruned = {}  # conv weight name -> pruned output channels
    for group in pruner.step(interactive=True):
        for dep, idxs in group:
            target = dep.target.module
            if isinstance(target, nn.Conv2d) and 'out_channels' in getattr(
                    dep.handler, '__name__', ''):
                pruned[f'{names[target]}.weight'] = [int(i) for i in idxs]
        group.prune()
    keeps = []
    for g in groups:
        keep = torch.ones(g.channels, dtype=torch.bool)
        drop = [pruned[n] for n in g.scored if n in pruned]
        if drop:
            keep[drop[0]] = False
        keeps.append(keep)
    like = {n: p for n, p in model.named_parameters()}
    return channel_mask({n: torch.ones_like(like[n], dtype=torch.bool)
                         for n in channel_param_names(groups)}, groups, keeps)
