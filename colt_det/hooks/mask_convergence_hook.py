"""MaskConvergenceHook: a round stage ends once the mask it would prune to stops changing."""
from typing import List, Optional

import torch
from mmengine.hooks import Hook

from ..core import Pruner, model_weights
from ..registry import HOOKS
from .mask_hook import find_hook, mask_hook_of
from .prune_hook import ColtPruneHook

_STATE = 'colt_mask_convergence'  # the hook's key in the stage's MMEngine checkpoints
INFO_KEY = 'colt/early_stop'  # message-hub info the stage's record (result.json) takes over


def mask_distance(a: dict, b: dict, candidates: dict) -> float:
    """Early-Bird's normalised Hamming distance: the fraction of the candidate weights (those
    the stage's mask still keeps) that one mask keeps and the other prunes."""
    differ = sum(int((a[n] ^ b[n]).sum()) for n in a)
    total = sum(int(candidates[n].sum()) for n in candidates)
    return differ / total if total else 0.0


@HOOKS.register_module()
class MaskConvergenceHook(Hook):
    """Stops a pruning stage early when its mask has converged (Early-Bird, You et al. 2020).

    Every ``interval`` iterations the hook computes the mask the stage would prune to if it
    ended now (the same score, ratio, scope and floor as the stage's pruning) and its distance
    to the previous check's (:func:`mask_distance`). Once the distance has stayed below ``eps``
    for ``patience`` checks in a row, training stops; the stage then prunes as usual. The
    checks are part of the stage's checkpoints, so a resumed stage stops where an uninterrupted
    one does. What happened (distances, stop iteration) goes to the message hub under
    ``colt/early_stop``, which the stage record writes to ``result.json``.

    The stage's mask is its :class:`~.mask_hook.ColtMaskHook`'s; the score, ratio, scope and
    floor are its :class:`~.prune_hook.ColtPruneHook`'s (a pruner of its own: a data-driven
    score observes training for each).

    Args:
        interval (int): iterations between checks.
        eps (float): the distance below which the mask counts as unchanged.
        patience (int): checks in a row below ``eps`` before stopping.
    """

    priority = 'NORMAL'  # after ColtMaskHook (ABOVE_NORMAL) re-zeroed the pruned weights

    def __init__(self, interval: int = 50, eps: float = 0.01, patience: int = 1) -> None:
        self.interval = interval
        self.eps = eps
        self.patience = patience
        self.pruner: Optional[Pruner] = None
        self._score_state = None
        self.previous = None
        self.below = 0
        self.stopped_at: Optional[int] = None
        self.distances: List[List[float]] = []  # [iteration, distance] per check

    def before_train(self, runner) -> None:
        self.start_mask, _ = mask_hook_of(runner, 'colt_det.MaskConvergenceHook').stage(runner)
        prune = _prune_hook_of(runner)
        self.ratio = prune.ratio
        self.pruner = prune.new_pruner(runner)
        self.pruner.prepare(runner.model, self.start_mask)
        if self._score_state:
            self.pruner.load_state_dict(self._score_state)
        if self.stopped_at is not None:  # resumed after the stop: end at once
            runner.train_loop.stop_training = True
        self._publish(runner)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        done = runner.iter + 1
        if done % self.interval or done >= runner.max_iters or self.stopped_at is not None:
            return
        mask = self.pruner.prune(model_weights(runner.model), self.start_mask, self.ratio)
        if self.previous is not None:
            d = mask_distance(self.previous, mask, self.start_mask)
            self.distances.append([done, d])
            self.below = self.below + 1 if d < self.eps else 0
            if self.below >= self.patience:
                self.stopped_at = done
                runner.train_loop.stop_training = True
                runner.logger.info(f'[colt] mask converged at iteration {done} (distance '
                                   f'{d:.4f} < {self.eps}): stage stops')
        self.previous = mask
        self._publish(runner)

    def after_train(self, runner) -> None:
        self.pruner.remove()

    def _publish(self, runner) -> None:
        runner.message_hub.update_info(INFO_KEY, dict(
            stopped_at=self.stopped_at, distances=self.distances, interval=self.interval,
            eps=self.eps, patience=self.patience))

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint[_STATE] = dict(
            previous=None if self.previous is None else {n: m.clone()
                                                         for n, m in self.previous.items()},
            below=self.below, stopped_at=self.stopped_at,
            distances=torch.tensor(self.distances, dtype=torch.float64),
            score=self.pruner.state_dict())

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get(_STATE)
        if state is None:
            return
        self.previous = state['previous']
        self.below = int(state['below'])
        self.stopped_at = None if state['stopped_at'] is None else int(state['stopped_at'])
        self.distances = [[int(i), float(d)] for i, d in state['distances'].tolist()]
        self._score_state = state.get('score')


def _prune_hook_of(runner) -> ColtPruneHook:
    hook = find_hook(runner, ColtPruneHook)
    if hook is not None:
        return hook
    raise ValueError('colt_det.MaskConvergenceHook stops a pruning stage: it needs the '
                     "stage's colt_det.ColtPruneHook in custom_hooks")
