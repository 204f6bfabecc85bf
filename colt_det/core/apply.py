"""Putting masks on a model: zeroing pruned weights and rewinding survivors to theta0."""
from typing import Dict, List, Mapping, Optional

import torch
from torch import nn

from .masks import Mask, mismatch_parts


def unwrap(model: nn.Module) -> nn.Module:
    """The model inside DDP/DataParallel-style wrappers (whose names carry ``module.``)."""
    while hasattr(model, 'module') and isinstance(model.module, nn.Module):
        model = model.module
    return model


def check_mask_fits(model: nn.Module, mask: Mask) -> None:
    """Raise a ValueError naming every mask key missing from ``model`` or of the wrong shape."""
    params = {n: p.shape for n, p in unwrap(model).named_parameters()}
    parts = mismatch_parts({n: m.shape for n, m in mask.items()}, params, 'mask', 'model')
    if parts:
        raise ValueError('mask does not fit the model: ' + '; '.join(parts))


@torch.no_grad()
def apply_mask(model: nn.Module, mask: Mask) -> None:
    """Set every pruned weight of ``model`` to exactly zero (in place; NaN/inf too)."""
    params = dict(unwrap(model).named_parameters())
    for name, m in mask.items():
        p = params[name]
        p.masked_fill_(~m.to(device=p.device, dtype=torch.bool), 0.0)


class MaskEnforcer:
    """Keeps pruned weights at zero during training.

    Call :meth:`step` after every optimizer step. Zeroing after the step is exact whatever the
    optimizer does (momentum, weight decay, Adam), and also where an update made a pruned
    weight NaN/inf (a fill, not a multiplication): a pruned weight's update only ever touches
    itself, so the forward pass always sees a truly sparse model. The inverted masks are moved
    to the parameters' device once, not per step.

    Args:
        model (nn.Module): the (possibly DDP-wrapped) model.
        mask (Mask): mask keyed by unwrapped parameter names.
    """

    def __init__(self, model: nn.Module, mask: Mask) -> None:
        check_mask_fits(model, mask)
        params = dict(unwrap(model).named_parameters())
        # Only layers with at least one pruned weight need work on the hot path.
        self._pairs = [(params[n], ~m.to(device=params[n].device, dtype=torch.bool))
                       for n, m in mask.items() if not bool(m.all())]

    @torch.no_grad()
    def step(self) -> None:
        for p, pruned in self._pairs:
            p.masked_fill_(pruned, 0.0)


def state_of(model: nn.Module) -> Dict[str, torch.Tensor]:
    """A detached CPU copy of the parameters and buffers of the unwrapped model."""
    return {k: v.detach().cpu().clone() for k, v in unwrap(model).state_dict().items()}


@torch.no_grad()
def rewind(model: nn.Module, theta0: Mapping[str, torch.Tensor], mask: Optional[Mask] = None,
           required: Optional[List[str]] = None) -> List[str]:
    """Load theta0 into every tensor of ``model`` that has the same name and shape, then mask.

    Tensors whose shape differs (e.g. a classification head sized for another partition) keep
    their fresh initialisation.

    Args:
        model (nn.Module): model to rewind in place.
        theta0 (Mapping[str, Tensor]): initial state (parameters and buffers).
        mask (Mask, optional): mask applied after rewinding.
        required (List[str], optional): names that must be rewound (e.g. the prunable weights);
            a ValueError lists those that could not be.

    Returns:
        List[str]: names of model tensors that were *not* rewound.
    """
    target = unwrap(model).state_dict()
    skipped = []
    for name, value in target.items():
        src = theta0.get(name)
        if src is not None and src.shape == value.shape:
            value.copy_(src.to(device=value.device, dtype=value.dtype))
        else:
            skipped.append(name)
    if required:
        bad = [n for n in required if n in skipped]
        if bad:
            raise ValueError(f'cannot rewind {len(bad)} required tensor(s) to theta0 '
                             f'(missing or wrong shape), e.g. {bad[:3]}')
    if mask is not None:
        apply_mask(model, mask)
    return skipped
