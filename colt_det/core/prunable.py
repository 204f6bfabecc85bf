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


CHANNEL_DEPTHS = ('inner', 'deep', 'detector')

# RoIs in the trace of a RoI head (any count works: the graph does not depend on it)
TRACE_ROIS = 4


class _BackboneNeck(nn.Module):
    """``extract_feat``: the backbone and (if any) the neck, traced as one module."""

    def __init__(self, backbone: nn.Module, neck: Optional[nn.Module]) -> None:
        super().__init__()
        self.backbone = backbone
        self.neck = neck

    def forward(self, x):
        x = self.backbone(x)
        return self.neck(x) if self.neck is not None else x


class WholeDetector(nn.Module):
    """Backbone, neck and heads as one module (parameter names as in the detector): the
    neck's outputs go to the RPN head (or a single-stage head) and out; the RoI box head reads
    a second input, RoI features of the shape the RoI extractor gives it (RoI pooling has no
    parameters and no channels of its own: the features' channels are the neck's outputs)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.backbone = model.backbone
        for part in ('neck', 'rpn_head', 'bbox_head', 'roi_head'):
            setattr(self, part, getattr(model, part, None))

    def forward(self, x, rois=None):
        feats = self.backbone(x)
        feats = self.neck(feats) if self.neck is not None else feats
        outs = [feats]
        for head in (self.rpn_head, self.bbox_head):
            if head is not None:
                outs.append(head(feats))
        if rois is not None:
            outs.append(self.roi_head.bbox_head(rois))
        return outs


def feature_module(model: nn.Module) -> nn.Module:
    """The model's backbone + neck as one module whose parameter names are the model's."""
    model = unwrap(model)
    return _BackboneNeck(model.backbone, getattr(model, 'neck', None))


def detector_inputs(model: nn.Module, image: torch.Tensor, proposals: int) -> tuple:
    """The arguments of the whole-detector trace: ``image`` and, for a two-stage detector,
    ``proposals`` RoI features of the shape its box head reads."""
    model = unwrap(model)
    box = getattr(getattr(model, 'roi_head', None), 'bbox_head', None)
    if box is None:
        return (image,)
    size = tuple(getattr(box, 'roi_feat_size', (7, 7)))
    return image, torch.randn((proposals, box.in_channels) + size, device=image.device)


def test_proposals(model: nn.Module) -> int:
    """The RoIs a two-stage detector's box head reads per image at test time (its RPN's
    ``test_cfg.max_per_img``), 0 without a RoI head."""
    model = unwrap(model)
    if getattr(model, 'roi_head', None) is None:
        return 0
    rpn = (getattr(model, 'test_cfg', None) or {}).get('rpn') or {}
    return int(rpn.get('max_per_img', 1000))


def channel_cost(model: nn.Module, depth: str, input_size, groups: List[ChannelGroup],
                 proposals: Optional[int] = None):
    """The :class:`~colt_det.core.channel_cost.ChannelCost` a channel level is a fraction
    of: backbone + neck for ``'inner'``/``'deep'`` groups, the whole detector (the heads with
    ``proposals`` RoIs per image, default :func:`test_proposals`) for ``'detector'``.

    Args:
        model (nn.Module): the model.
        depth (str): the channel groups' depth.
        input_size (Sequence[int]): (H, W) of the input the MACs are counted at.
        groups (List[ChannelGroup]): its channel groups (:func:`channel_groups`).
        proposals (int, optional): RoIs per image.
    """
    from .channel_cost import ChannelCost
    model = unwrap(model)
    device = next(model.parameters()).device
    image = torch.randn((1, 3) + tuple(input_size), device=device)
    if depth != 'detector':
        return ChannelCost(feature_module(model), image, groups)
    count = test_proposals(model) if proposals is None else proposals
    return ChannelCost(WholeDetector(model), detector_inputs(model, image, count), groups)


def channel_groups(model: nn.Module, depth: str = 'inner') -> List[ChannelGroup]:
    """The channel groups of ``model.backbone`` (names as in ``model``).

    Args:
        model (nn.Module): a model with a ``backbone`` (and optionally a ``neck``).
        depth (str): ``'inner'``: each block's inner channels; ``'deep'``: every channel of
            backbone + neck that is not one of the neck's outputs (the residual streams, the
            stem, the FPN's lateral channels); ``'detector'``: those and the heads' own
            channels (RPN conv, RoI FCs), see :mod:`colt_det.core.channels`.
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
    elif depth == 'detector':
        groups = find_channel_groups(WholeDetector(model),
                                     detector_inputs(model, example, TRACE_ROIS),
                                     coupled=True, linear=True)
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


TORCH_PRUNING_IMPORTANCES = ('group_magnitude', 'taylor')


def torch_pruning_mask(model: nn.Module, groups: List[ChannelGroup], ratio: float,
                       divisor: int = 1, importance: str = 'group_magnitude') -> dict:
    """The channel mask Torch-Pruning's own pruner picks: ``MetaPruner`` with
    ``GroupMagnitudeImportance`` (``'group_magnitude'``: the group's L2 norm;
    ``GroupNormImportance`` in older releases) or ``GroupTaylorImportance`` (``'taylor'``:
    ``|w * dL/dw|`` summed over the group, Molchanov et al. 2019; the gradients are the ones
    ``model``'s parameters hold), ``ratio`` of every group's channels, on a copy of the model's
    backbone + neck (the neck's output convs ignored, so its outputs keep their width).

    Its choices are read from the pruner (the pruned indices of each group's convs) and become
    a mask over ``groups`` (:func:`channel_groups` with ``depth='deep'``: the same dependency
    graph), so the ticket trains, resumes and exports like any other channel ticket.
    """
    import copy

    import torch_pruning as tp

    from .channels import channel_mask
    if importance not in TORCH_PRUNING_IMPORTANCES:
        raise ValueError(f'Torch-Pruning importance must be one of '
                         f'{list(TORCH_PRUNING_IMPORTANCES)}, got {importance!r}')
    model = unwrap(model)
    wrapper = _BackboneNeck(copy.deepcopy(model.backbone), copy.deepcopy(
        getattr(model, 'neck', None))).eval()
    if importance == 'taylor':  # a deep copy leaves the gradients behind: hand them over
        grads = {n: p.grad for n, p in model.named_parameters()}
        missing = [n for n, p in wrapper.named_parameters() if grads.get(n) is None]
        if missing:
            raise ValueError(f"Torch-Pruning's Taylor importance needs the loss gradient of "
                             f"every layer it prunes, and {missing[0]} has none (frozen?): "
                             f"train it, or use importance='group_magnitude'")
        for n, p in wrapper.named_parameters():
            p.grad = grads[n].detach().clone()
        score = tp.importance.GroupTaylorImportance()
    else:
        score = tp.importance.GroupMagnitudeImportance(p=2)
    outputs = [m for n, m in wrapper.named_modules() if n.startswith('neck.fpn_convs')]
    pruner = tp.pruner.MetaPruner(
        wrapper, torch.randn(TRACE_SHAPE), importance=score,
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
