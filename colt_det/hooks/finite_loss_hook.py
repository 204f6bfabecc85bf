"""FiniteLossHook: a NaN/inf loss stops the stage with an error that names it."""
import math
from typing import Optional

import torch
from mmengine.hooks import Hook

from ..errors import NonFiniteLossError
from ..registry import HOOKS


@HOOKS.register_module()
class FiniteLossHook(Hook):
    """Stops training with :class:`~colt_det.errors.NonFiniteLossError` on a NaN/inf loss.

    MMDetection's ``CheckInvalidLossHook`` asserts with a message that evaluates to None; this
    one says where it happened and what to try. On CPU the loss is checked every step; on a GPU
    the flag stays on the device and is read every ``interval`` steps (reading it every step
    makes each step wait for the GPU). Pruned weights stay exactly zero meanwhile
    (:class:`~colt_det.hooks.mask_hook.ColtMaskHook` zeroes them, NaN included).

    Args:
        interval (int): GPU: steps between reads of the flag.
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self, interval: int = 50) -> None:
        self.interval = max(1, interval)
        self._finite: Optional[torch.Tensor] = None

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        loss = outputs.get('loss') if outputs else None
        done = runner.iter + 1
        if not isinstance(loss, torch.Tensor):
            if loss is not None and not math.isfinite(loss):
                self._raise(loss, f'at iteration {runner.iter}')
            return
        if loss.device.type == 'cpu':
            value = float(loss.detach())
            if not math.isfinite(value):
                self._raise(value, f'at iteration {runner.iter}')
            return
        finite = torch.isfinite(loss.detach())
        self._finite = finite if self._finite is None else self._finite & finite
        if done % self.interval == 0 or done == runner.max_iters:
            ok, self._finite = bool(self._finite), None
            if not ok:
                self._raise('nan/inf', f'at an iteration up to {runner.iter}')

    @staticmethod
    def _raise(value, where: str) -> None:
        raise NonFiniteLossError(f'loss is {value} {where}: stage stopped, earlier tickets are '
                                 f'kept; lower the learning rate or check the data')
