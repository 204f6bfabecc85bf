"""ColtPruneHook: at the end of a stage, prune a share of the still-kept weights."""
import os.path as osp
from typing import Optional

from mmengine.hooks import Hook

from ..core import Pruner, broadcast_mask, model_weights, save_mask, sparsity
from ..registry import HOOKS
from ..runtime.checkpoints import load_state
from ..runtime.faults import crash_point
from .mask_hook import mask_hook_of

_STATE = 'colt_prune_score'  # a data-driven score's statistics in the stage's checkpoints


@HOOKS.register_module()
class ColtPruneHook(Hook):
    """After training, prunes ``prune_ratio`` of the weights the stage's mask still keeps and
    writes the new mask to ``out_mask`` (rank 0 computes it; every rank gets it).

    The score's lifecycle (:class:`~colt_det.core.Pruner`): prepared before training, so a
    data-driven score (Taylor, Fisher) observes every batch; its statistics are part of the
    stage's checkpoints, so a resumed stage scores as an uninterrupted one.

    The stage's mask, its channel groups and theta0 (for scores that need it) are the
    :class:`~.mask_hook.ColtMaskHook`'s of the same run.

    Args:
        prune_ratio (float): the fraction of the kept weights (channels) to prune.
        out_mask (str): where the pruned mask goes (never overwritten).
        scope (str): ``'global'`` or ``'layer'``.
        weight_score (str): a registered weight score (:mod:`colt_det.core.scores`).
        channel_score (str): a registered channel score (a channel stage's).
        min_density (float): every layer keeps at least this fraction (the guard; 0: off).
        channel_divisor (int): channels: every group keeps a multiple of this many.
    """

    priority = 'ABOVE_NORMAL'  # its mask is written before the stage's result (NORMAL-LOW)

    def __init__(self, prune_ratio: float = 0.2, out_mask: Optional[str] = None,
                 scope: str = 'global', weight_score: str = 'magnitude',
                 channel_score: str = 'l1', min_density: float = 0.0,
                 channel_divisor: int = 1) -> None:
        self.ratio = prune_ratio
        self.out_mask = out_mask
        self.scope = scope
        self.scores = dict(weight=weight_score, channel=channel_score)
        self.min_density = min_density
        self.divisor = channel_divisor
        self.pruner: Optional[Pruner] = None
        self._resumed_state: Optional[dict] = None

    def new_pruner(self, runner) -> Pruner:
        """A pruner of this stage's settings, for its mask hook's mask and groups (the early
        stop builds its own, with its own statistics)."""
        hook = mask_hook_of(runner, 'colt_det.ColtPruneHook')
        _, groups = hook.stage(runner)
        return Pruner(self.scores[hook.granularity], self.scope, self.min_density, groups,
                      self.divisor, theta0=lambda: load_state(hook.theta0_path))

    def before_train(self, runner) -> None:
        self.mask, _ = mask_hook_of(runner, 'colt_det.ColtPruneHook').stage(runner)
        self.pruner = self.new_pruner(runner)
        self.pruner.prepare(runner.model, self.mask)  # a data-driven score observes training
        if self._resumed_state is not None:
            self.pruner.load_state_dict(self._resumed_state)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self.pruner is not None and self.pruner.needs_data:
            checkpoint[_STATE] = self.pruner.state_dict()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._resumed_state = checkpoint.get(_STATE)

    def after_train(self, runner) -> None:
        crash_point('stage_trained')  # tests: a kill after training, before the stage's files
        self.pruner.remove()
        new_mask = self.mask
        if runner.rank == 0:
            new_mask = self.pruner.prune(model_weights(runner.model), self.mask, self.ratio)
        new_mask = broadcast_mask(new_mask)  # computed once: all ranks hold the same mask
        if runner.rank == 0 and not osp.exists(self.out_mask):
            save_mask(self.out_mask, new_mask, meta=dict(prune_ratio=self.ratio))
        crash_point('stage_mask')  # tests: a kill between the stage's mask and its result
        runner.logger.info(f'[colt] pruned to {sparsity(new_mask).overall:.2%} -> '
                           f'{self.out_mask}')
