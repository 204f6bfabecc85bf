"""Pruning scores as objects: what ranks the weights (or channels) a pruning step removes.

A score is passed to the pruner, as in Torch-Pruning (``importance=MagnitudeImportance()``):
:func:`~colt_det.core.pruning.prune_by_score` removes the lowest-scoring kept weights, whatever
the score is. Each score declares what it needs, so the search checks it before training:

* ``needs_theta0``: it compares the trained weights with the rewind point (movement);
* ``needs_trainable``: it is meaningless for frozen weights (they never move).

To add a score, subclass :class:`WeightScore` (or :class:`ChannelScore`) in one file and
register it::

    @register_weight_score('taylor')
    class Taylor(WeightScore):
        def __call__(self, weights, theta0=None):
            ...

``colt.weight_score='taylor'`` (``colt.channel_score`` for channels) then selects it.
"""
from typing import Dict, Mapping, Optional, Sequence

import torch

from .table import Table

Scores = Dict[str, torch.Tensor]


class WeightScore:
    """Scores single weights: higher means more worth keeping.

    Attributes:
        needs_theta0 (bool): ``__call__`` needs the rewind point ``theta0``.
        needs_trainable (bool): only trainable weights can be scored.
    """

    needs_theta0 = False
    needs_trainable = False

    def __call__(self, weights: Mapping[str, torch.Tensor],
                 theta0: Optional[Mapping[str, torch.Tensor]] = None) -> Scores:
        raise NotImplementedError


class ChannelScore:
    """Scores the channels of a channel group: one value per channel, higher = keep."""

    def __call__(self, weights: Mapping[str, torch.Tensor], group) -> torch.Tensor:
        raise NotImplementedError


WEIGHT_SCORES = Table('weight_score')
CHANNEL_SCORES = Table('channel_score')
# class decorators: register a WeightScore / ChannelScore under a name
register_weight_score = WEIGHT_SCORES.register
register_channel_score = CHANNEL_SCORES.register


def weight_score(name: str) -> WeightScore:
    """The registered weight score ``name`` (a ValueError names the choices)."""
    return WEIGHT_SCORES.get_entry(name)()


def channel_score(name: str) -> ChannelScore:
    """The registered channel score ``name`` (a ValueError names the choices)."""
    return CHANNEL_SCORES.get_entry(name)()


@register_weight_score('magnitude')
class Magnitude(WeightScore):
    """|w|: the lottery-ticket and COLT criterion."""

    def __call__(self, weights, theta0=None) -> Scores:
        return {n: w.detach().abs() for n, w in weights.items()}


@register_weight_score('movement')
class Movement(WeightScore):
    """|w - theta0|: how far training moved each weight from the rewind point (partitions then
    disagree where their data differs). Frozen weights never move: they are refused."""

    needs_theta0 = True
    needs_trainable = True

    def __call__(self, weights, theta0=None) -> Scores:
        if theta0 is None:
            raise ValueError('the movement score needs theta0')
        return {n: (w.detach() - theta0[n].to(w.device, w.dtype)).abs()
                for n, w in weights.items()}


def _filter_l1(weights: Mapping[str, torch.Tensor], scored: Sequence[str]) -> torch.Tensor:
    """Mean |w| of each channel's filters (L1 norm / filter size: comparable across layers)."""
    return sum(weights[n].detach().float().cpu().abs().flatten(1).mean(1) for n in scored)


@register_channel_score('l1')
class FilterL1(ChannelScore):
    """The mean |w| of the channel's filters."""

    def __call__(self, weights, group) -> torch.Tensor:
        return _filter_l1(weights, group.scored)


@register_channel_score('l1_bn')
class FilterL1TimesGamma(ChannelScore):
    """The filters' mean |w| times the |gamma| of the BatchNorm that follows (a channel the
    BN scales down matters less); a group of several BatchNorms (a residual stream) takes their
    mean |gamma|."""

    def __call__(self, weights, group) -> torch.Tensor:
        gammas = [weights[n].detach().float().cpu().abs() for n in group.producers
                  if n not in group.scored and n.endswith('.weight')]
        s = _filter_l1(weights, group.scored)
        return s * (sum(gammas) / len(gammas)) if gammas else s
