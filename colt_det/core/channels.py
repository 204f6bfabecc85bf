"""Channel (structured) tickets: whole output channels pruned, still masks keyed by param name.

A *channel group* is a set of output channels that must be kept or pruned together: the output
channels of a conv (its weight rows and bias), the affine parameters of the BatchNorm that
follows it, and the input channels of the convs that read them. Masking a channel zeroes the
conv rows and the BN weight *and bias*, so the channel is exactly zero after the BN and the
network computes the same function without it: :mod:`colt_det.deploy.slim` then removes it for real.

Groups are found with torch-pruning's dependency graph, whose channels are read by a conv or
linear layer inside the traced module (not returned as one of its outputs), so pruning them
never changes the module's output shapes. Two depths:

* ``'inner'`` (default): groups without residual coupling (no element-wise add/concatenation in
  the group), traced on the backbone alone: in a ResNet the inner channels of every block. The
  neck and heads stay as they are.
* ``'deep'``: every channel of backbone + neck (traced together) that is not an output of the
  neck: also those tied to residual sums (a ResNet stage's stream: every block's last conv,
  the downsample branch and their BatchNorms, pruned together; the neck's lateral convs that
  read the stage lose those input channels), the stem, and the FPN's lateral channels (summed
  top-down across levels, read by its output convs, whose outputs keep their width). Masking a
  coupled channel zeroes it in every branch of the sum, so it stays zero all the way.
* ``'detector'``: the deep groups and the heads' own channels, traced on backbone + neck +
  heads together: the RPN head's shared conv (read by its classification and regression
  convs), the RoI box head's shared fully connected layers (read by the next one and by the
  classifier and box regressor), a single-stage head's stacked convs. The neck's outputs keep
  their width (the RoI extractor and every head read them).
"""
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence

import torch
from torch import nn

from .masks import Mask
from .scores import channel_score


@dataclass
class ChannelGroup:
    """Coupled channels of one layer.

    Args:
        producers (List[str]): parameters whose dim 0 are these channels (conv weight/bias,
            BN weight/bias); they are masked.
        scored (List[str]): the conv weights whose rows' L1 norms score the channels.
        consumers (List[str]): conv/linear weights whose dim 1 reads these channels (removed
            by slimming, never masked: they multiply zeros).
        buffers (List[str]): BN running statistics of these channels (slimming only).
        channels (int): the number of channels.
    """

    producers: List[str]
    scored: List[str]
    consumers: List[str] = field(default_factory=list)
    buffers: List[str] = field(default_factory=list)
    channels: int = 0


def find_channel_groups(module: nn.Module, example_input,
                        prefix: str = '', coupled: bool = False,
                        producer_prefix: str = '', linear: bool = False) -> List[ChannelGroup]:
    """The prunable channel groups of ``module`` (names prefixed with ``prefix``).

    Uses torch-pruning's dependency graph on one forward pass of ``example_input``.

    Args:
        module (nn.Module): the module traced.
        example_input (Tensor or tuple): an input it runs on (a tuple: its arguments).
        prefix (str): prepended to every parameter name.
        coupled (bool): also groups tied by element-wise sums (residual streams).
        producer_prefix (str): only groups whose producing layers' names start with it (e.g.
            ``'backbone.'``: a neck's own channels are not pruned, only read less).
        linear (bool): also the output features of linear layers (a RoI head's FCs).
    """
    import torch_pruning as tp

    was_training = module.training
    module.eval()
    try:
        graph = tp.DependencyGraph().build_dependency(module, example_inputs=example_input)
        names = {m: n for n, m in module.named_modules()}
        roots = [nn.Conv2d, nn.Linear] if linear else [nn.Conv2d]
        groups = [_as_channel_group(g, names, prefix, coupled) for g in graph.get_all_groups(
            root_module_types=roots)]
    finally:
        module.train(was_training)
    return [g for g in groups if g is not None
            and all(n.startswith(prefix + producer_prefix) for n in g.producers)]


def _as_channel_group(group, names: Dict[nn.Module, str], prefix: str, coupled: bool = False):
    producers, scored, consumers, buffers, channels = [], [], [], [], 0
    for dep, idxs in group.items:
        target = dep.target.module
        handler = getattr(dep.handler, '__name__', str(dep.handler))
        if target not in names:  # an operation (add, concat, relu, pooling, ...)
            op = str(dep.target)
            if 'CatBackward' in op or 'Sub' in op or ('AddBackward' in op and not coupled):
                return None  # concatenation (or, inner groups only, residual) coupling
            if 'OutputOp' in op:
                return None  # the channels leave the module
            continue
        name = prefix + names[target]
        if isinstance(target, (nn.Conv2d, nn.Linear)) and 'in_channels' in handler:
            consumers.append(f'{name}.weight')
        elif isinstance(target, nn.Conv2d) and 'out_channels' in handler:
            if target.groups != 1:
                return None  # depth-wise convs couple input and output channels
            producers.append(f'{name}.weight')
            scored.append(f'{name}.weight')
            if target.bias is not None:
                producers.append(f'{name}.bias')
            channels = target.out_channels
        elif isinstance(target, nn.Linear) and 'out_channels' in handler:
            producers.append(f'{name}.weight')
            scored.append(f'{name}.weight')
            if target.bias is not None:
                producers.append(f'{name}.bias')
            channels = target.out_features
        elif isinstance(target, nn.modules.batchnorm._BatchNorm) and target.affine:
            producers += [f'{name}.weight', f'{name}.bias']
            buffers += [f'{name}.running_mean', f'{name}.running_var']
        else:
            return None  # a layer type slimming does not handle
    if not scored or not consumers:
        return None  # channels leave the module (an output) or are not read by a layer
    return ChannelGroup(sorted(set(producers)), sorted(set(scored)), sorted(set(consumers)),
                        sorted(set(buffers)), channels)


def channel_param_names(groups: Sequence[ChannelGroup]) -> List[str]:
    """The parameters a channel mask covers (every group's producers)."""
    return [n for g in groups for n in g.producers]


def channel_keep(mask: Mask, group: ChannelGroup) -> torch.Tensor:
    """The bool vector of the group's kept channels in ``mask``."""
    return mask[group.scored[0]].flatten(1).any(1)


def channel_prune(weights: Mapping[str, torch.Tensor], mask: Mask,
                  groups: Sequence[ChannelGroup], ratio: float,
                  scope: str = 'layer', score='l1', divisor: int = 1,
                  of_all: bool = False) -> Mask:
    """Prune ``ratio`` of the still-kept channels, ranked by the L1 norm of their filters.

    Args:
        weights (Mapping[str, Tensor]): current values (at least the groups' scored weights).
        mask (Mask): the current channel mask (keys: :func:`channel_param_names`).
        groups (Sequence[ChannelGroup]): the channel groups.
        ratio (float): fraction of the kept channels to remove, in (0, 1).
        scope (str): ``'layer'``: every group loses ``ratio`` of its channels; ``'global'``:
            channels of all groups ranked together by their filters' mean absolute value.
        score (str or ChannelScore): a registered channel score (:mod:`colt_det.core.scores`)
            or a score object: ``'l1'``, the filters' mean |w|; ``'l1_bn'``, times the |gamma|
            of the BatchNorm that follows; data-driven ones (:mod:`colt_det.core.data_scores`).
        divisor (int): every group keeps a multiple of this many channels (its lowest-scoring
            extra ones go too): odd widths erase speed-ups on real hardware.
        of_all (bool): ``ratio`` is the fraction of *all* channels pruned at the end (in [0,
            1): pruning to a target), not of the still-kept ones.

    Returns:
        Mask: a new channel mask; every group keeps at least one channel.
    """
    if not (0.0 <= ratio < 1.0 if of_all else 0.0 < ratio < 1.0):
        raise ValueError(f'prune_ratio must be in (0, 1), got {ratio}')
    scorer = channel_score(score)
    keeps = [channel_keep(mask, g) for g in groups]
    scores = [scorer(weights, g) for g in groups]

    def count(keep: torch.Tensor) -> int:  # how many of ``keep``'s channels go
        if of_all:
            return max(0, round(ratio * keep.numel()) - (keep.numel() - int(keep.sum())))
        return round(ratio * int(keep.sum()))
    if scope == 'layer':
        new = [_drop_lowest(s, k, count(k)) for s, k in zip(scores, keeps)]
    elif scope == 'global':
        flat_s, flat_k = torch.cat(scores), torch.cat(keeps)
        flat = _drop_lowest(flat_s, flat_k, count(flat_k))
        new = list(torch.split(flat, [len(k) for k in keeps]))
        for i, (k_new, k_old, s) in enumerate(zip(new, keeps, scores)):
            if not k_new.any():  # never cut a layer: keep its best channel
                k_new[torch.where(k_old, s, torch.full_like(s, -1.0)).argmax()] = True
    else:
        raise ValueError(f"prune scope must be 'global' or 'layer', got {scope!r}")
    if divisor > 1:  # each group's best multiple of divisor channels (at least divisor)
        new = [_drop_lowest(s, old, int(old.sum()) - max(
            int(k.sum()) // divisor * divisor, min(divisor, int(old.sum()))))
            for s, old, k in zip(scores, keeps, new)]
    return channel_mask(mask, groups, new)


def channel_mask(like: Mask, groups: Sequence[ChannelGroup],
                 keeps: Sequence[torch.Tensor]) -> Mask:
    """A mask with the shapes of ``like`` keeping channel ``c`` of group ``i`` iff keeps[i][c]."""
    out = {}
    for g, keep in zip(groups, keeps):
        for name in g.producers:
            shape = like[name].shape
            out[name] = keep.view(-1, *([1] * (len(shape) - 1))).expand(shape).clone()
    return out


def random_channel_mask_like(mask: Mask, groups: Sequence[ChannelGroup],
                             generator: Optional[torch.Generator] = None) -> Mask:
    """Random channels with the widths of ``mask``'s groups (the random-ticket baseline)."""
    keeps = []
    for g in groups:
        n = int(channel_keep(mask, g).sum())
        keep = torch.zeros(g.channels, dtype=torch.bool)
        keep[torch.randperm(g.channels, generator=generator)[:n]] = True
        keeps.append(keep)
    return channel_mask(mask, groups, keeps)


def _drop_lowest(scores: torch.Tensor, keep: torch.Tensor, k: int) -> torch.Tensor:
    """``keep`` without its ``k`` lowest-scoring kept entries (at least one stays)."""
    k = min(k, int(keep.sum()) - 1)
    out = keep.clone()
    if k <= 0:
        return out
    ranked = torch.where(keep, scores, torch.full_like(scores, float('inf')))
    # stable order: ties broken by position, so the result is deterministic
    order = torch.sort(ranked, stable=True).indices
    out[order[:k]] = False
    return out
