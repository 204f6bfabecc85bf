"""Keeping masks and weights identical on every rank of a torch.distributed job (pure torch).

Every function is a no-op when torch.distributed is not initialised or the world has one rank,
so single-process code calls them unconditionally.
"""
from typing import List

import torch
import torch.distributed as dist
from torch import nn

from .apply import unwrap
from .masks import Mask


def world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def broadcast_mask(mask: Mask, src: int = 0) -> Mask:
    """Every rank gets rank ``src``'s mask (same keys and shapes on all ranks required).

    The masks travel as one flat uint8 tensor, so one collective call moves them all.

    Args:
        mask (Mask): this rank's mask; on ranks other than ``src`` only its keys and shapes
            matter.
        src (int): the rank whose mask wins.

    Returns:
        Mask: a new mask equal to rank ``src``'s on every rank.
    """
    if world_size() == 1:
        return mask
    names: List[str] = sorted(mask)
    listing = [[(n, tuple(mask[n].shape)) for n in names]]
    theirs = list(listing)
    dist.broadcast_object_list(theirs, src=src)
    if theirs[0] != listing[0]:
        raise ValueError(f'rank {dist.get_rank()} holds other mask keys/shapes than rank '
                         f'{src}: every rank must build the same model and prunable set')
    flat = torch.cat([mask[n].flatten().to(torch.uint8).cpu() for n in names])
    dist.broadcast(flat, src=src)
    out, start = {}, 0
    for n in names:
        k = mask[n].numel()
        out[n] = flat[start:start + k].view(mask[n].shape).bool()
        start += k
    return out


@torch.no_grad()
def broadcast_state(model: nn.Module, src: int = 0) -> None:
    """Copy rank ``src``'s parameters and buffers into the model on every rank (in place)."""
    if world_size() == 1:
        return
    for value in unwrap(model).state_dict().values():
        dist.broadcast(value, src=src)
