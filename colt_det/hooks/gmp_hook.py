"""GMPHook: gradual magnitude pruning inside one training run (Zhu & Gupta 2017)."""
import os.path as osp
from typing import Optional

from mmengine.hooks import Hook

from ..core import (
    MaskEnforcer,
    PrunableSpec,
    Pruner,
    broadcast_mask,
    model_weights,
    ones_mask,
    save_mask,
    sparsity,
)
from ..core.apply import unwrap
from ..core.schedule import cubic_sparsity, schedule_steps
from ..registry import HOOKS
from ..runtime.checkpoints import load_state

_STATE = 'colt_gmp'  # the hook's key in the stage's MMEngine checkpoints
_SCORE = 'colt_gmp_score'  # a data-driven score's statistics since the last pruning step


@HOOKS.register_module()
class GMPHook(Hook):
    """Prunes the prunable weights along a cubic schedule while the model trains.

    Every ``every`` iterations from ``start`` to ``end`` the lowest-scoring kept weights are
    pruned until the sparsity of :func:`~colt_det.core.schedule.cubic_sparsity` is reached
    (``target_sparsity`` at ``end``); after every optimizer step the pruned weights are set back
    to exactly zero. The mask is part of the stage's checkpoints, so a stage resumed after a
    kill prunes exactly as an uninterrupted one. At the end the mask is written to ``out_mask``.
    A data-driven score (``'taylor'``) ranks by what it observed since the previous step.

    Args:
        prunable (dict): :class:`~colt_det.core.PrunableSpec` options.
        target_sparsity (float): the sparsity reached at ``end``.
        start, end, every (int or float): iterations (int) or fractions of the training (float
            in [0, 1]): pruning starts after ``start``, ends at ``end``, one step every ``every``.
        scope (str): ``'global'`` or ``'layer'``.
        min_density (float): per-layer floor (the layer-collapse guard).
        score (str): a registered weight score (``'magnitude'``).
        theta0 (str, optional): the rewind point, for scores that need it.
        out_mask (str, optional): where the final mask is written.
    """

    priority = 'ABOVE_NORMAL'  # before CheckpointHook: checkpoints hold the pruned weights

    def __init__(self, prunable: Optional[dict] = None, target_sparsity: float = 0.9,
                 start=0.0, end=0.75, every=0.025, scope: str = 'global',
                 min_density: float = 0.0, score: str = 'magnitude',
                 theta0: Optional[str] = None, out_mask: Optional[str] = None) -> None:
        self.spec = PrunableSpec.from_cfg(prunable)
        self.target = target_sparsity
        self.window = (start, end, every)
        self.out_mask = out_mask
        self.pruner = Pruner(score, scope, min_density, theta0=lambda: load_state(theta0))
        self.mask = None
        self.enforcer = None
        self.steps = set()
        self._score_state = None

    def before_train(self, runner) -> None:
        model = unwrap(runner.model)
        self.start, self.end, self.steps = schedule_steps(self.window, runner.max_iters, 'gmp')
        if self.mask is None:  # a fresh stage; a resumed one restored its mask
            self.mask = ones_mask(model, self.spec.select(model))
        self.enforcer = MaskEnforcer(model, self.mask)
        self.enforcer.step()
        self.pruner.prepare(model, self.mask)
        if self._score_state is not None:
            self.pruner.load_state_dict(self._score_state)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        done = runner.iter + 1
        if done in self.steps:
            goal = cubic_sparsity(done, self.start, self.end, self.target)
            self.mask = broadcast_mask(self.pruner.prune_to(model_weights(runner.model),
                                                            self.mask, goal))
            self.pruner.score.reset()
            self.enforcer = MaskEnforcer(runner.model, self.mask)
        self.enforcer.step()

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint[_STATE] = {n: m.clone() for n, m in self.mask.items()}
        if self.pruner.needs_data:
            checkpoint[_SCORE] = self.pruner.state_dict()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if _STATE in checkpoint:
            self.mask = {n: m.bool() for n, m in checkpoint[_STATE].items()}
        self._score_state = checkpoint.get(_SCORE)

    def after_train(self, runner) -> None:
        self.pruner.remove()
        runner.logger.info(f'[colt] GMP pruned to {sparsity(self.mask).overall:.2%}')
        if self.out_mask and runner.rank == 0 and not osp.exists(self.out_mask):
            save_mask(self.out_mask, self.mask, meta=dict(gmp=True, target=self.target))
