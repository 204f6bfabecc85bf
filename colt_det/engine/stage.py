"""One stage of a search: the config of its MMEngine Runner (pure) and running it.

Every stage is an ordinary MMEngine training run in its own folder: the search's config with the
``colt`` block replaced by a :class:`~colt_det.engine.hooks.ColtHook`, restricted to a
partition's classes (partition stages), with the final schedule (the final stage) or a short
dense schedule (late rewinding). :func:`stage_cfg` builds that config and nothing else, so it is
tested without training.
"""
import copy
import os
import os.path as osp
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, List, Optional

from mmengine.config import Config
from mmengine.runner import Runner

from .lifecycle import (build_quiet_runner, release_runner, stage_checkpoint,
                        without_code_formatting)
from .tasks import Task
from .workdir import WorkDir

if TYPE_CHECKING:  # settings -> methods -> rounds -> stage: a type-only import
    from .settings import ColtSettings


@dataclass
class Stage:
    """What one stage trains.

    Args:
        dir (str): the stage's folder (checkpoints, mask.safetensors, result.json).
        mask (str, optional): the mask (ticket) to train with; None: nothing pruned.
        group (List[str], optional): the partition's classes; None: all classes.
        prune (bool): prune ``prune_ratio`` at the end and write ``mask.safetensors``.
        kind (str): ``'partition'``, ``'final'`` (final_train_cfg) or ``'rewind'`` (late
            rewinding: ``rewind_iter`` dense iterations, then write theta0).
        gmp (bool): prune gradually while training (``colt.gmp``, method ``'gmp'``) and write
            the final mask to ``mask.safetensors``.
    """

    dir: str
    mask: Optional[str] = None
    group: Optional[List[str]] = None
    prune: bool = False
    kind: str = 'partition'
    gmp: bool = False


def stage_cfg(cfg: Config, settings: 'ColtSettings', work: WorkDir, task: Task,
              classes: List[str], stage: Stage) -> Config:
    """The Runner config of ``stage``: a new Config, ``cfg`` is left as it is."""
    s = settings
    out = without_code_formatting(copy.deepcopy(cfg))
    out.pop('colt', None)
    out.work_dir = stage.dir
    out.experiment_name = osp.relpath(stage.dir, work.root).replace(os.sep, '_')
    out.randomness = dict(seed=s.seed, deterministic=False)
    if stage.group is not None and len(stage.group) < len(classes):
        task.restrict(out, stage.group, classes)
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
    hooks = []
    if stage.gmp:  # before ColtHook: its mask is written before the stage's result
        g = s.gmp_options
        hooks.append(dict(type='colt_det.GMPHook', prunable=s.prunable,
                          target_sparsity=s.target_sparsity, start=g['start'], end=g['end'],
                          every=g['every'], scope=s.prune_scope, min_density=s.min_density,
                          score=s.weight_score, theta0=work.theta0,
                          out_mask=osp.join(stage.dir, 'mask.safetensors')))
    hooks.append(dict(type='colt_det.ColtHook', prunable=s.prunable, mask=stage.mask,
                      theta0=work.theta_init if rewind else work.theta0,
                      out_state=work.theta0 if rewind else None,
                      prune_ratio=s.prune_ratio if stage.prune else None,
                      prune_scope=s.prune_scope, granularity=s.granularity,
                      channel_score=s.channel_score, weight_score=s.weight_score,
                      min_density=s.min_density,
                      out_mask=osp.join(stage.dir, 'mask.safetensors') if stage.prune else None,
                      out_result=osp.join(stage.dir, 'result.json'),
                      progress_interval=s.progress_interval, seed=s.seed,
                      stage_name=osp.relpath(stage.dir, work.root)))
    es = s.early_stop_options
    if stage.prune and es and s.granularity == 'weight':
        hooks.append(dict(type='colt_det.MaskConvergenceHook', prunable=s.prunable,
                          mask=stage.mask, prune_ratio=s.prune_ratio, interval=es['interval'],
                          eps=es['eps'], patience=es['patience'], scope=s.prune_scope,
                          min_density=s.min_density, score=s.weight_score, theta0=work.theta0))
        _stoppable(out.train_cfg)
    out.custom_hooks = list(out.get('custom_hooks', [])) + hooks
    return out


def _stoppable(train_cfg) -> None:
    """An epoch-based ``train_cfg`` whose epochs a hook can end early."""
    kind = train_cfg.get('type')
    if kind is None and train_cfg.get('by_epoch'):
        train_cfg.pop('by_epoch')
        kind = 'EpochBasedTrainLoop'
    if kind in ('EpochBasedTrainLoop', 'mmengine.EpochBasedTrainLoop'):
        train_cfg['type'] = 'colt_det.StoppableEpochBasedTrainLoop'


def build_stage_runner(cfg: Config) -> Runner:
    """A Runner for a stage config (changed in place), resuming the stage from its checkpoint."""
    os.makedirs(cfg.work_dir, exist_ok=True)
    # MMEngine writes last_checkpoint after each checkpoint: its presence = resumable stage
    cfg.load_from = stage_checkpoint(cfg.work_dir)
    cfg.resume = cfg.load_from is not None
    # unique per Runner: MMEngine keys its loggers and visualizers by this name
    cfg.experiment_name = f'{cfg.experiment_name}_{time.time_ns()}'
    for hook in cfg.get('custom_hooks', []):  # the stage's seconds include building it
        if hook.get('type') == 'colt_det.ColtHook':
            hook['started_at'] = time.time()
    return build_quiet_runner(cfg)


def train_stage(cfg: Config, then=None) -> None:
    """Train a stage config; ``then(runner)`` runs after training, before the runner is released.

    The runner's dataloader workers, log files and global instances are released at the end,
    also when training fails.
    """
    runner = build_stage_runner(cfg)
    try:
        runner.train()
        if then is not None:
            then(runner)
    finally:
        release_runner(runner)
