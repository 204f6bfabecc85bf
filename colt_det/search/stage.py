"""One stage of a search: the config of its MMEngine Runner (pure) and running it.

Every stage is an ordinary MMEngine training run in its own folder: the search's config with the
``colt`` block replaced by the stage's hooks (:mod:`colt_det.hooks`), restricted to a
partition's classes (partition stages), with the final schedule (the final stage), a short
dense schedule (late rewinding) or the round schedule. :func:`stage_spec` says what its hooks do
(one frozen record), :func:`stage_cfg` builds that config and nothing else, so both are tested
without training; :class:`StageRunner` trains it.
"""
import copy
import os
import os.path as osp
import pickle
import time
import traceback
from dataclasses import dataclass, field
from typing import Callable, List, Optional

from mmengine.config import Config

from ..hooks.record_hook import StageRecordHook
from ..hooks.stage_spec import EarlyStopSpec, MaskSpec, PruneSpec, RecordSpec, StageSpec
from ..runtime.logging import progress
from ..runtime.records import StageRecord
from ..runtime.runner import (
    build_quiet_runner,
    release_runner,
    stage_checkpoint,
    without_code_formatting,
)
from ..tasks.base import Task
from .settings import ColtSettings
from .tracking import wandb_grouped
from .workdir import WorkDir


@dataclass
class Stage:
    """What one stage trains.

    Args:
        dir (str): the stage's folder (checkpoints, mask.safetensors, result.json).
        mask (str, optional): the mask (ticket) to train with; None: nothing pruned.
        group (List[str], optional): the partition's classes; None: all classes.
        prune (bool): prune ``prune_ratio`` at the end and write ``mask.safetensors``.
        kind (str): ``'partition'`` (round_train_cfg), ``'final'`` (final_train_cfg) or
            ``'rewind'`` (late rewinding: ``rewind_iter`` dense iterations, then write theta0).
        hooks (List[dict]): hook configs a method adds (e.g. GMP's, which prunes while the
            stage trains and writes ``mask.safetensors``); they run before the stage's own.
    """

    dir: str
    mask: Optional[str] = None
    group: Optional[List[str]] = None
    prune: bool = False
    kind: str = 'partition'
    hooks: List[dict] = field(default_factory=list)


def stage_cfg(cfg: Config, settings: ColtSettings, work: WorkDir, task: Task,
              classes: List[str], stage: Stage) -> Config:
    """The Runner config of ``stage``: a new Config, ``cfg`` is left as it is."""
    s = settings
    out = without_code_formatting(copy.deepcopy(cfg))
    out.pop('colt', None)
    out.work_dir = stage.dir
    out.experiment_name = osp.relpath(stage.dir, work.root).replace(os.sep, '_')
    out.randomness = dict(seed=s.seed, deterministic=False)
    if stage.group is not None and len(stage.group) < len(classes):
        task.restrict(out, stage.group, classes, s.partition_policy)
        if s.partition_budget == 'equal':  # one COLT round = one IMP round in images
            out.train_dataloader.sampler = dict(type='colt_det.BudgetSampler',
                                                share=1.0 / s.num_groups)
    if stage.kind == 'final' and s.final_train_cfg:
        out.train_cfg.update(s.final_train_cfg)
    if stage.kind == 'partition' and s.round_train_cfg:
        out.train_cfg.update(s.round_train_cfg)
    rewind = stage.kind == 'rewind'
    if rewind:
        k = s.rewind_iter
        out.train_cfg = dict(type='IterBasedTrainLoop', max_iters=k, val_interval=k + 1)
        out.param_scheduler = []
        out.default_hooks.checkpoint = dict(type='CheckpointHook', interval=k + 1,
                                            by_epoch=False)
    # a method's hooks first: a mask they write is written before the stage's result
    hooks = [dict(h) for h in stage.hooks] + stage_spec(s, work, stage).hooks()
    if stage.kind == 'final' and s.distill:  # the final training learns from the teacher
        hooks.append(dict(type='colt_det.DistillHook', **s.distill))
    if any(h['type'] == 'colt_det.MaskConvergenceHook' for h in hooks):
        _stoppable(out.train_cfg)
    out.custom_hooks = list(out.get('custom_hooks', [])) + hooks
    if (out.get('visualizer') or {}).get('vis_backends'):
        out.visualizer.vis_backends = wandb_grouped(out.visualizer.vis_backends,
                                                    osp.basename(work.root),
                                                    osp.relpath(stage.dir, work.root))
    return out


def stage_spec(s: ColtSettings, work: WorkDir, stage: Stage) -> StageSpec:
    """What the hooks of ``stage`` do (:class:`~colt_det.hooks.stage_spec.StageSpec`)."""
    rewind = stage.kind == 'rewind'
    prune = early = None
    if stage.prune:
        prune = PruneSpec(s.prune_ratio, WorkDir.stage_mask(stage.dir), s.prune_scope,
                          s.weight_score, s.channel_score, s.min_density, s.channel_divisor)
        if s.early_stop_options:
            es = s.early_stop_options
            early = EarlyStopSpec(es['interval'], es['eps'], es['patience'])
    return StageSpec(
        mask=MaskSpec(s.prunable, stage.mask, work.theta_init if rewind else work.theta0,
                      s.granularity, s.channel_groups),
        record=RecordSpec(WorkDir.stage_result(stage.dir), work.theta0 if rewind else None,
                          s.progress_interval, osp.relpath(stage.dir, work.root)),
        prune=prune, early_stop=early, seed=s.seed)


def _stoppable(train_cfg) -> None:
    """An epoch-based ``train_cfg`` whose epochs a hook can end early."""
    kind = train_cfg.get('type')
    if kind is None and train_cfg.get('by_epoch'):
        train_cfg.pop('by_epoch')
        kind = 'EpochBasedTrainLoop'
    if kind in ('EpochBasedTrainLoop', 'mmengine.EpochBasedTrainLoop'):
        train_cfg['type'] = 'colt_det.StoppableEpochBasedTrainLoop'


_RECORD = ('colt_det.StageRecordHook', 'StageRecordHook', StageRecordHook)


def build_stage_runner(cfg: Config):
    """A Runner for a stage config (changed in place), resuming the stage from its checkpoint."""
    started = time.time()  # the stage's seconds include building its Runner
    os.makedirs(cfg.work_dir, exist_ok=True)
    # MMEngine writes last_checkpoint after each checkpoint: its presence = resumable stage
    cfg.load_from = stage_checkpoint(cfg.work_dir)
    cfg.resume = cfg.load_from is not None
    # unique per Runner: MMEngine keys its loggers and visualizers by this name
    cfg.experiment_name = f'{cfg.experiment_name}_{time.time_ns()}'
    # the record counts the Runner's building too: it is told when that began, in its config
    # (no hook is edited once built)
    cfg.custom_hooks = [dict(h, started_at=started) if h.get('type') in _RECORD
                        and h.get('started_at') is None else h
                        for h in cfg.get('custom_hooks', [])]
    return build_quiet_runner(cfg)


def train_stage(cfg: Config, then: Optional[Callable] = None) -> None:
    """Train a stage config; ``then(runner)`` runs after training, before the runner is released.

    The runner's dataloader workers, log files and global instances are released at the end,
    also when training fails.
    """
    runner = build_stage_runner(cfg)
    try:
        try:
            runner.train()
        except pickle.UnpicklingError:
            raise ValueError(f'the stage checkpoint {cfg.load_from} holds objects that are not '
                             f'plain weights and was not loaded (unpickling can run code): '
                             f'delete it and {osp.join(cfg.work_dir, "last_checkpoint")} to '
                             f'restart the stage') from None
        if then is not None:
            then(runner)
    except BaseException as e:
        # the failed loop's frames hold its DataLoader iterator (and its worker processes):
        # drop their locals now rather than whenever the error is garbage-collected
        traceback.clear_frames(e.__traceback__)
        raise
    finally:
        release_runner(runner)


class StageRunner:
    """Trains the stages of one search (``ctx``): what methods and the round loop call.

    Args:
        ctx (SearchContext): the search.
    """

    def __init__(self, ctx) -> None:
        self.ctx = ctx

    def run(self, stage: Stage, then: Optional[Callable] = None) -> None:
        """Train (or resume) ``stage``; ``then(runner)`` after training, before release."""
        ctx = self.ctx
        if stage_checkpoint(stage.dir):
            progress(f'resuming unfinished stage {stage.dir}')
        train_stage(stage_cfg(ctx.cfg, ctx.settings, ctx.work, ctx.task, ctx.classes, stage),
                    then)
        stats = StageRecord.read(WorkDir.stage_result(stage.dir)).partition_stats \
            if stage.group else None
        if stats:
            progress(f"  partition data: {stats['images']} images, {stats['objects']} "
                     f"objects of {len(stats['classes'])} classes ({stats['policy']})")
