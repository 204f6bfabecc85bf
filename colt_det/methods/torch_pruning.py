"""Torch-Pruning's own pruner as a method: the baseline a user would pick instead of a search."""
from typing import List

from ..core import save_ticket
from ..core.prunable import torch_pruning_mask
from ..registry import METHODS
from ..runtime.checkpoints import load_state
from ..search.method import Method, write_once


@METHODS.register_module('torch_pruning')
class TorchPruning(Method):
    """One-shot structured pruning of theta0 (a pretrained backbone) by Torch-Pruning's
    ``MetaPruner`` with ``GroupMagnitudeImportance``: ``target_sparsity`` of every coupled
    channel group of backbone + neck (``channel_groups='deep'``), widths rounded to
    ``channel_divisor``; the final stage fine-tunes it like every other ticket."""

    supports_channels = True

    def check(self, s) -> None:
        if s.granularity != 'channel' or s.channel_groups != 'deep':
            raise ValueError("colt.method='torch_pruning' prunes coupled channel groups: set "
                             "granularity='channel' and channel_groups='deep'")

    def find_mask(self, ctx, stages, rounds: List[dict]) -> str:
        from .baselines import channel_groups_of

        def write():
            s = ctx.settings
            model = ctx.task.build_model(ctx.cfg)
            theta0 = load_state(ctx.work.theta0)
            model.load_state_dict(theta0, strict=True)
            mask = torch_pruning_mask(model, channel_groups_of(ctx), s.target_sparsity,
                                      s.channel_divisor)
            save_ticket(path, mask, theta0, meta=ctx.meta(round=0, torch_pruning=True))
        path = ctx.work.ticket('torch_pruning')
        return write_once(path, write)
