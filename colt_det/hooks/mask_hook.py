"""ColtMaskHook: a stage trains theta0 under its mask, with pruned weights exactly zero."""
from typing import Dict, Optional, Tuple

import torch
from mmengine.hooks import Hook

from ..core import (
    MaskEnforcer,
    PrunableSpec,
    apply_mask,
    broadcast_mask,
    broadcast_state,
    load_mask,
    ones_mask,
    rewind,
    sparsity,
)
from ..core.apply import unwrap
from ..core.prunable import masked_params
from ..registry import HOOKS
from ..runtime.checkpoints import load_state


def stage_mask(model, spec: PrunableSpec, granularity: str, mask_path: Optional[str],
               depth: str = 'inner'):
    """(the mask a stage starts from, the channel groups or None): ``mask_path``'s masks,
    checked against the prunable set, or nothing pruned."""
    names, groups = masked_params(unwrap(model), spec, granularity, depth)
    if not mask_path:
        return ones_mask(unwrap(model), names), groups
    mask = load_mask(mask_path)
    missing = sorted(set(names) - set(mask))
    extra = sorted(set(mask) - set(names))
    if missing or extra:
        raise ValueError(f'mask {mask_path} does not cover the prunable set: missing '
                         f'{missing[:3]}, extra {extra[:3]}; use the same prunable settings as '
                         f'the run that wrote it')
    return mask, groups


@HOOKS.register_module()
class ColtMaskHook(Hook):
    """Rewinds a fresh stage to theta0, applies its mask and keeps pruned weights at zero.

    At the start of a fresh stage (not a resumed one) the model is rewound to ``theta0`` and
    the mask applied; after every optimizer step the pruned weights are set back to exactly
    zero (also where an update made them NaN/inf). Under distributed training rank 0's mask and
    rewound weights are broadcast, so every rank trains the same masked model.

    Args:
        prunable (dict): :class:`~colt_det.core.PrunableSpec` options (which weights are masked).
        mask (str, optional): the mask file to train with; None: nothing pruned yet.
        theta0 (str, optional): the safetensors state to rewind to before training.
        granularity (str): ``'weight'`` or ``'channel'`` (channels of ``model.backbone``).
        channel_depth (str): channels: ``'inner'`` or ``'deep'`` (:mod:`colt_det.core.channels`).
    """

    priority = 'ABOVE_NORMAL'  # before CheckpointHook, so checkpoints hold masked weights

    def __init__(self, prunable: Optional[dict] = None, mask: Optional[str] = None,
                 theta0: Optional[str] = None, granularity: str = 'weight',
                 channel_depth: str = 'inner') -> None:
        self.spec = PrunableSpec.from_cfg(prunable)
        self.mask_path = mask
        self.theta0_path = theta0
        self.granularity = granularity
        self.depth = channel_depth
        self.mask: Dict[str, torch.Tensor] = {}
        self.groups = None
        self.enforcer: Optional[MaskEnforcer] = None

    def stage(self, runner) -> Tuple[Dict[str, torch.Tensor], Optional[list]]:
        """(the stage's starting mask, its channel groups or None), read on first use."""
        if self.enforcer is None:
            mask, self.groups = stage_mask(runner.model, self.spec, self.granularity,
                                           self.mask_path, self.depth)
            self.mask = broadcast_mask(mask)
            self.enforcer = MaskEnforcer(unwrap(runner.model), self.mask)
        return self.mask, self.groups

    def before_train(self, runner) -> None:
        self.stage(runner)
        model = unwrap(runner.model)
        resumed = runner.iter > 0
        if self.theta0_path and not resumed:
            # rewinding a resumed stage would throw away its progress
            rewind(model, load_state(self.theta0_path), required=list(self.mask))
        apply_mask(model, self.mask)
        broadcast_state(model)  # DDP synced the weights before the rewind; sync the rewound ones
        runner.logger.info(f'[colt] training with {len(self.mask)} masked layers, sparsity '
                           f'{sparsity(self.mask).overall:.2%}' + (' (resumed)' if resumed
                                                                   else ''))

    def before_val(self, runner) -> None:
        # runner.val()/test() without train(): still evaluate the masked model
        if self.enforcer is None:
            self.stage(runner)
            apply_mask(unwrap(runner.model), self.mask)

    before_test = before_val

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self.enforcer.step()


def find_hook(runner, cls):
    """The run's hook of class ``cls`` (inside a ``ColtHook`` too), or None."""
    for hook in runner.hooks:
        for part in getattr(hook, 'parts', [hook]):
            if isinstance(part, cls):
                return part
    return None


def mask_hook_of(runner, asking: str) -> ColtMaskHook:
    """The run's :class:`ColtMaskHook`; ``asking``, the hook that needs it, is named in the
    ValueError when there is none."""
    hook = find_hook(runner, ColtMaskHook)
    if hook is not None:
        return hook
    raise ValueError(f'{asking} reads the stage mask from a colt_det.ColtMaskHook: add one '
                     f'to custom_hooks (or use colt_det.ColtHook)')
