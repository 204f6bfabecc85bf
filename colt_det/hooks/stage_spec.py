"""StageSpec: what one search stage's hooks do, as one frozen record.

The search describes a stage once (:func:`colt_det.search.stage.stage_spec`) and builds its
hooks from that record (:meth:`StageSpec.hooks`): the mask it trains under (:class:`MaskSpec`,
read once per stage by :class:`~.mask_hook.ColtMaskHook`, which the other hooks ask for it),
the pruning at its end (:class:`PruneSpec`), the early stop (:class:`EarlyStopSpec`) and its
record (:class:`RecordSpec`). No hook is edited after it is built.
"""
from dataclasses import asdict, dataclass, fields
from typing import List, Optional


@dataclass(frozen=True)
class MaskSpec:
    """The mask a stage trains under (:class:`~.mask_hook.ColtMaskHook`'s arguments).

    Args:
        prunable (dict, optional): :class:`~colt_det.core.PrunableSpec` options.
        mask (str, optional): the mask file; None: nothing pruned yet.
        theta0 (str, optional): the state a fresh stage rewinds to.
        granularity (str): ``'weight'`` or ``'channel'``.
        channel_depth (str): channels: the groups (:func:`colt_det.core.prunable.channel_groups`).
    """

    prunable: Optional[dict] = None
    mask: Optional[str] = None
    theta0: Optional[str] = None
    granularity: str = 'weight'
    channel_depth: str = 'inner'


@dataclass(frozen=True)
class PruneSpec:
    """The pruning at a stage's end (:class:`~.prune_hook.ColtPruneHook`'s arguments)."""

    prune_ratio: float
    out_mask: str
    scope: str = 'global'
    weight_score: str = 'magnitude'
    channel_score: str = 'l1'
    min_density: float = 0.0
    channel_divisor: int = 1


@dataclass(frozen=True)
class EarlyStopSpec:
    """Early-Bird's stop (:class:`~.mask_convergence_hook.MaskConvergenceHook`'s arguments)."""

    interval: int = 50
    eps: float = 0.01
    patience: int = 1


@dataclass(frozen=True)
class RecordSpec:
    """A stage's record and progress (:class:`~.record_hook.StageRecordHook`'s arguments)."""

    out_result: Optional[str] = None
    out_state: Optional[str] = None
    progress_interval: int = 0
    stage_name: str = 'stage'


@dataclass(frozen=True)
class StageSpec:
    """One stage's hooks, as data.

    Args:
        mask (MaskSpec): what it trains under.
        record (RecordSpec): its ``result.json`` and progress lines.
        prune (PruneSpec, optional): prune at the end (None: a final or rewind stage).
        early_stop (EarlyStopSpec, optional): stop once the mask it would prune to converged.
        seed (int, optional): reseed every epoch with ``seed + epoch``.
        check_finite_loss (bool): stop on a NaN/inf loss.
    """

    mask: MaskSpec = MaskSpec()
    record: RecordSpec = RecordSpec()
    prune: Optional[PruneSpec] = None
    early_stop: Optional[EarlyStopSpec] = None
    seed: Optional[int] = None
    check_finite_loss: bool = True

    def hooks(self) -> List[dict]:
        """The hook configs, in the order they run at every point of the stage."""
        hooks = [dict(type='colt_det.ColtMaskHook', **asdict(self.mask))]
        if self.check_finite_loss:
            hooks.append(dict(type='colt_det.FiniteLossHook',
                              interval=self.record.progress_interval or 50))
        if self.seed is not None:
            hooks.append(dict(type='colt_det.EpochSeedHook', seed=self.seed))
        if self.prune is not None:
            hooks.append(dict(type='colt_det.ColtPruneHook', **asdict(self.prune)))
            if self.early_stop is not None:
                hooks.append(dict(type='colt_det.MaskConvergenceHook',
                                  **asdict(self.early_stop)))
        hooks.append(dict(type='colt_det.StageRecordHook', **asdict(self.record)))
        return hooks

    @classmethod
    def from_flat(cls, prune_ratio: Optional[float] = None, out_mask: Optional[str] = None,
                  seed: Optional[int] = None, check_finite_loss: bool = True,
                  **options) -> 'StageSpec':
        """The spec of the flat keywords :class:`~.colt_hook.ColtHook` takes (one name per
        field of the parts; ``prune_scope`` is ``PruneSpec.scope``): a ValueError names an
        unknown one."""
        if 'prune_scope' in options:
            options['scope'] = options.pop('prune_scope')
        parts = {}
        for part in (MaskSpec, PruneSpec, RecordSpec):
            names = {f.name for f in fields(part)}
            parts[part] = {k: options.pop(k) for k in list(options) if k in names}
        if options:
            raise ValueError(f'ColtHook takes no {sorted(options)}: see colt_det.ColtHook')
        prune = None
        if prune_ratio is not None and out_mask:
            prune = PruneSpec(prune_ratio, out_mask, **parts[PruneSpec])
        return cls(mask=MaskSpec(**parts[MaskSpec]), record=RecordSpec(**parts[RecordSpec]),
                   prune=prune, seed=seed, check_finite_loss=check_finite_loss)
