"""Pruning scores as objects with a lifecycle: what ranks the weights (or channels) a pruning
step removes.

A score is passed to the pruner (:class:`~colt_det.core.pruner.Pruner`), as in Torch-Pruning
(``importance=MagnitudeImportance()``): the pruner removes the lowest-scoring kept weights,
whatever the score is. A score lives through one pruning step:

1. ``prepare(model, targets)``: a data-driven score registers its forward/backward hooks on the
   model (``targets`` are the masked weight names, or the channel groups);
2. training runs; the hooks *observe* every batch (activations, gradients) and accumulate
   statistics, which ``state_dict()`` / ``load_state_dict()`` carry through a stage checkpoint;
3. ``__call__`` scores: ``(weights, theta0)`` for single weights, ``(weights, group)`` for the
   channels of one group;
4. ``remove()`` takes the hooks off (``reset()`` starts the statistics anew).

A data-free score (magnitude, L1) leaves 1, 2 and 4 as they are. Each score declares what it
needs, so the search checks it before training:

* ``needs_theta0``: it compares the trained weights with the rewind point (movement);
* ``needs_trainable``: it is meaningless for frozen weights (they never move, have no gradient);
* ``needs_data``: it observes training (one-shot pruning of theta0 cannot use it).

To add a score, subclass :class:`WeightScore` (or :class:`ChannelScore`) in one file and
register it (:mod:`colt_det.core.data_scores` adds Taylor and Fisher this way)::

    @register_weight_score('mine')
    class Mine(WeightScore):
        def __call__(self, weights, theta0=None):
            ...

``colt.weight_score='mine'`` (``colt.channel_score`` for channels) then selects it.
"""
from typing import Dict, Mapping, Optional, Sequence

import torch

from .table import Table

Scores = Dict[str, torch.Tensor]


class Score:
    """The lifecycle every score shares; the data-free defaults do nothing.

    Attributes:
        needs_theta0 (bool): scoring needs the rewind point ``theta0``.
        needs_trainable (bool): only trainable weights can be scored.
        needs_data (bool): the score observes training between :meth:`prepare` and scoring.
    """

    needs_theta0 = False
    needs_trainable = False
    needs_data = False

    def prepare(self, model: torch.nn.Module, targets: Sequence) -> None:
        """Start observing ``model`` for ``targets`` (weight names or channel groups)."""

    def remove(self) -> None:
        """Stop observing (the statistics stay)."""

    def reset(self) -> None:
        """Forget the statistics observed so far."""

    def state_dict(self) -> dict:
        """The statistics observed so far (plain tensors: part of a stage checkpoint)."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Continue from :meth:`state_dict`'s statistics (a resumed stage)."""


class WeightScore(Score):
    """Scores single weights: higher means more worth keeping."""

    def __call__(self, weights: Mapping[str, torch.Tensor],
                 theta0: Optional[Mapping[str, torch.Tensor]] = None) -> Scores:
        raise NotImplementedError


class ChannelScore(Score):
    """Scores the channels of a channel group: one value per channel, higher = keep."""

    def __call__(self, weights: Mapping[str, torch.Tensor], group) -> torch.Tensor:
        raise NotImplementedError


WEIGHT_SCORES = Table('weight_score')
CHANNEL_SCORES = Table('channel_score')
# class decorators: register a WeightScore / ChannelScore under a name
register_weight_score = WEIGHT_SCORES.register
register_channel_score = CHANNEL_SCORES.register


def weight_score(name) -> WeightScore:
    """The registered weight score ``name`` (a ValueError names the choices); a score object
    is returned as it is."""
    if isinstance(name, Score):
        return name
    return WEIGHT_SCORES.get_entry(name)()


def channel_score(name) -> ChannelScore:
    """The registered channel score ``name`` (a ValueError names the choices); a score object
    is returned as it is."""
    if isinstance(name, Score):
        return name
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
