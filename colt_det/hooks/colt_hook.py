"""ColtHook: the whole job of a search stage in one hook, for configs that name it.

The search builds a stage from the one-job hooks of this package (:func:`stage_hooks`); a user
config that names ``colt_det.ColtHook`` (as earlier versions built every stage) gets the same
hooks, run in the same order, behind one name.
"""
from typing import List, Optional

from mmengine.hooks import Hook

from ..registry import HOOKS
from .finite_loss_hook import FiniteLossHook
from .mask_hook import ColtMaskHook
from .prune_hook import ColtPruneHook
from .record_hook import StageRecordHook
from .seed_hook import EpochSeedHook


def stage_hooks(prunable: Optional[dict] = None, mask: Optional[str] = None,
                theta0: Optional[str] = None, prune_ratio: Optional[float] = None,
                prune_scope: str = 'global', granularity: str = 'weight',
                channel_score: str = 'l1', weight_score: str = 'magnitude',
                min_density: float = 0.0, channel_depth: str = 'inner',
                channel_divisor: int = 1, out_mask: Optional[str] = None,
                out_result: Optional[str] = None, out_state: Optional[str] = None,
                check_finite_loss: bool = True, progress_interval: int = 0,
                stage_name: str = 'stage', seed: Optional[int] = None) -> List[dict]:
    """The hook configs of one stage (see :class:`ColtHook` for the arguments)."""
    hooks = [dict(type='colt_det.ColtMaskHook', prunable=prunable, mask=mask, theta0=theta0,
                  granularity=granularity, channel_depth=channel_depth)]
    if check_finite_loss:
        hooks.append(dict(type='colt_det.FiniteLossHook', interval=progress_interval or 50))
    if seed is not None:
        hooks.append(dict(type='colt_det.EpochSeedHook', seed=seed))
    if prune_ratio is not None and out_mask:
        hooks.append(dict(type='colt_det.ColtPruneHook', prunable=prunable, mask=mask,
                          prune_ratio=prune_ratio, out_mask=out_mask, scope=prune_scope,
                          granularity=granularity, weight_score=weight_score,
                          channel_score=channel_score, min_density=min_density,
                          theta0=theta0, channel_depth=channel_depth,
                          channel_divisor=channel_divisor))
    hooks.append(dict(type='colt_det.StageRecordHook', out_result=out_result, prunable=prunable,
                      mask=mask, granularity=granularity, channel_depth=channel_depth,
                      out_state=out_state,
                      progress_interval=progress_interval, stage_name=stage_name))
    return hooks


_PARTS = {'colt_det.ColtMaskHook': ColtMaskHook, 'colt_det.FiniteLossHook': FiniteLossHook,
          'colt_det.EpochSeedHook': EpochSeedHook, 'colt_det.ColtPruneHook': ColtPruneHook,
          'colt_det.StageRecordHook': StageRecordHook}


@HOOKS.register_module()
class ColtHook(Hook):
    """Applies a COLT mask during one training stage and prunes at its end.

    The hooks of :func:`stage_hooks` in one: :class:`~.mask_hook.ColtMaskHook` (rewind to
    theta0, apply the mask, keep pruned weights zero), :class:`~.finite_loss_hook.FiniteLossHook`,
    :class:`~.seed_hook.EpochSeedHook`, :class:`~.prune_hook.ColtPruneHook` (with
    ``prune_ratio``) and :class:`~.record_hook.StageRecordHook` (``result.json``), called in
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
        for cfg in stage_hooks(**kwargs):
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
