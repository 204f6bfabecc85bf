"""Which parameters a search masks: a weight mask (``colt.prunable``) or channel groups."""
from typing import List, Optional, Tuple

import torch
from torch import nn

from .apply import unwrap
from .channels import ChannelGroup, channel_param_names, find_channel_groups
from .masks import PrunableSpec

# the input a backbone's channel graph is traced with (any size its strides divide works)
TRACE_SHAPE = (1, 3, 64, 64)


def channel_groups(model: nn.Module) -> List[ChannelGroup]:
    """The channel groups of ``model.backbone`` (names as in ``model``)."""
    backbone = getattr(unwrap(model), 'backbone', None)
    if backbone is None:
        raise ValueError("colt.granularity='channel' prunes model.backbone, and this model "
                         "has none: use granularity='weight'")
    device = next(backbone.parameters()).device
    groups = find_channel_groups(backbone, torch.randn(TRACE_SHAPE, device=device), 'backbone.')
    if not groups:
        raise ValueError('model.backbone has no channel group that can be pruned alone (every '
                         "channel is tied to a residual sum or an output): use "
                         "granularity='weight'")
    return groups


def masked_params(model: nn.Module, spec: PrunableSpec,
                  granularity: str) -> Tuple[List[str], Optional[List[ChannelGroup]]]:
    """The parameter names the masks of a search cover, and the channel groups (or None)."""
    if granularity == 'channel':
        groups = channel_groups(model)
        return channel_param_names(groups), groups
    return spec.select(unwrap(model)), None
