"""ColtHook: the whole job of a search stage in one hook, for configs that name it.

The search builds a stage from the one-job hooks of this package (:class:`~.stage_spec.
StageSpec`); a user
config that names ``colt_det.ColtHook`` (as earlier versions built every stage) gets the same
hooks, run in the same order, behind one name.
"""
from mmengine.hooks import Hook

from ..registry import HOOKS
from .finite_loss_hook import FiniteLossHook
from .mask_convergence_hook import MaskConvergenceHook
from .mask_hook import ColtMaskHook
from .prune_hook import ColtPruneHook
from .record_hook import StageRecordHook
from .seed_hook import EpochSeedHook
from .stage_spec import StageSpec

_PARTS = {'colt_det.ColtMaskHook': ColtMaskHook, 'colt_det.FiniteLossHook': FiniteLossHook,
          'colt_det.EpochSeedHook': EpochSeedHook, 'colt_det.ColtPruneHook': ColtPruneHook,
          'colt_det.MaskConvergenceHook': MaskConvergenceHook,
          'colt_det.StageRecordHook': StageRecordHook}


@HOOKS.register_module()
class ColtHook(Hook):
    """Applies a COLT mask during one training stage and prunes at its end.

    The hooks of a :class:`~.stage_spec.StageSpec` in one (its keywords are the parts'
    arguments, :meth:`~.stage_spec.StageSpec.from_flat`): :class:`~.mask_hook.ColtMaskHook`
    (rewind to theta0, apply the mask, keep pruned weights zero),
    :class:`~.finite_loss_hook.FiniteLossHook`, :class:`~.seed_hook.EpochSeedHook`,
    :class:`~.prune_hook.ColtPruneHook` (with ``prune_ratio``; then
    :class:`~.mask_convergence_hook.MaskConvergenceHook` if the spec has an early stop) and
    :class:`~.record_hook.StageRecordHook` (``result.json``), called in
    that order at every point of the run.

    Args:
        prunable, mask, theta0, granularity: the mask (see ``ColtMaskHook``).
        prune_ratio, prune_scope, weight_score, channel_score, min_density, out_mask: pruning
            at the end (see ``ColtPruneHook``; no pruning without ``prune_ratio``).
        out_result, out_state, progress_interval, stage_name: the record (``StageRecordHook``).
        check_finite_loss (bool): stop on a NaN/inf loss.
        seed (int, optional): reseed every epoch with ``seed + epoch``.
    """

    priority = 'ABOVE_NORMAL'  # before CheckpointHook, so checkpoints hold masked weights

    def __init__(self, **kwargs) -> None:
        started_at = kwargs.pop('started_at', None)
        self.parts = []
        for cfg in StageSpec.from_flat(**kwargs).hooks():
            cfg = dict(cfg)
            self.parts.append(_PARTS[cfg.pop('type')](**cfg))
        self.parts[-1].started_at = started_at


def _forward(stage: str):
    def call(self, runner, *args, **kwargs):
        for part in self.parts:
            getattr(part, stage)(runner, *args, **kwargs)
    call.__name__ = stage
    return call


for _stage in Hook.stages:
    setattr(ColtHook, _stage, _forward(_stage))
