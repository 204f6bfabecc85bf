"""The pruner: one object for one pruning step's life, weights or channels, any score.

Every place that prunes (a round's end, a GMP step, an early-stop check, one-shot pruning of
theta0, progressive channel pruning) builds one :class:`Pruner` and calls it the same way::

    pruner = Pruner(score, scope='global', groups=groups)   # groups: None for weights
    pruner.prepare(model, mask)      # a data-driven score starts observing training
    ...                              # training
    new_mask = pruner.prune(weights, mask, ratio)           # or prune_to(weights, mask, target)
    pruner.remove()

so a new score, weight or channel, data-free or data-driven, is one class in one file plus its
registry entry (:mod:`colt_det.core.scores`), and no caller branches on what it is.
"""
from typing import Callable, Mapping, Optional, Sequence, Union

import torch
from torch import nn

from .apply import unwrap
from .channels import ChannelGroup, channel_prune
from .masks import Mask
from .pruning import prune_by_score, prune_to_sparsity
from .scores import Score, channel_score, weight_score


class Pruner:
    """Prunes a mask by a score, for single weights or for channel groups.

    Args:
        score (str or Score): a registered score name (``colt.weight_score`` or
            ``colt.channel_score``) or a score object.
        scope (str): ``'global'`` or ``'layer'``.
        min_density (float): weights: every layer keeps at least this fraction (the guard).
        groups (Sequence[ChannelGroup], optional): channel pruning of these groups; None:
            single weights.
        divisor (int): channels: every group keeps a multiple of this many.
        theta0 (callable, optional): returns the rewind point, for scores that need it; called
            once, when first needed.
    """

    def __init__(self, score: Union[str, Score] = 'magnitude', scope: str = 'global',
                 min_density: float = 0.0, groups: Optional[Sequence[ChannelGroup]] = None,
                 divisor: int = 1, theta0: Optional[Callable[[], Mapping]] = None) -> None:
        self.groups = list(groups) if groups is not None else None
        self.score = (channel_score(score) if self.groups is not None else weight_score(score))
        self.scope = scope
        self.min_density = min_density
        self.divisor = divisor
        self._theta0_fn = theta0
        self._theta0 = None

    @property
    def needs_data(self) -> bool:
        """The score observes training: :meth:`prepare` before it, checkpoint its state."""
        return self.score.needs_data

    def prepare(self, model: nn.Module, mask: Mask) -> None:
        """Let the score start observing ``model`` (for the weights of ``mask``)."""
        if self.needs_data:
            self.score.prepare(unwrap(model), self.groups if self.groups is not None
                               else list(mask))

    def remove(self) -> None:
        self.score.remove()

    def state_dict(self) -> dict:
        return self.score.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.score.load_state_dict(state)

    def _theta0_state(self):
        if not self.score.needs_theta0:
            return None
        if self._theta0 is None:
            if self._theta0_fn is None:
                raise ValueError(f'the {type(self.score).__name__} score needs theta0')
            self._theta0 = self._theta0_fn()
        return self._theta0

    def _scores(self, weights: Mapping[str, torch.Tensor], mask: Mask):
        return self.score({n: weights[n] for n in mask}, self._theta0_state())

    def prune(self, weights: Mapping[str, torch.Tensor], mask: Mask, ratio: float) -> Mask:
        """``ratio`` of the still-kept weights (channels) of ``mask`` removed, lowest first.

        Args:
            weights (Mapping[str, Tensor]): the current values (parameters and, for scores that
                read them, buffers), e.g. a model's ``named_parameters()`` or a state dict.
            mask (Mask): the current mask.
            ratio (float): in (0, 1).
        """
        if self.groups is not None:
            return channel_prune(weights, mask, self.groups, ratio, self.scope, self.score,
                                 self.divisor)
        return prune_by_score(self._scores(weights, mask), mask, ratio, self.scope,
                              self.min_density)

    def prune_to(self, weights: Mapping[str, torch.Tensor], mask: Mask, target: float) -> Mask:
        """The lowest-scoring kept weights (channels) pruned until ``target`` of all are.

        For channels ``target`` is the fraction of channels removed (of every group with
        scope ``'layer'``, of all channels with ``'global'``).
        """
        if self.groups is not None:
            return channel_prune(weights, mask, self.groups, target, self.scope, self.score,
                                 self.divisor, of_all=True)
        return prune_to_sparsity(self._scores(weights, mask), mask, target, self.scope,
                                 self.min_density)


def model_weights(model: nn.Module) -> dict:
    """What a pruner scores on a live model: its parameters and buffers by name."""
    model = unwrap(model)
    return dict(dict(model.named_buffers()), **dict(model.named_parameters()))
