"""Starting (or resuming, or joining) a search: every check first, then the settings record.

Nothing is written before every input (data, model, files named by the settings) has been
checked: :func:`preflight` reads and checks, and returns the :class:`SearchContext` the rest of
the search runs on. The settings record is the first file of a search, so a search killed at
any later point is resumed under the settings (and the config) it started with.
"""
import copy
import fnmatch
import json
import os.path as osp
from typing import List, Optional

from mmengine.config import Config
from mmengine.dist import barrier, is_main_process

from ..core import atomic_write_json, load_ticket, partition_classes, read_json
from ..core.prunable import masked_params
from ..core.scores import weight_score
from ..errors import SearchError
from ..runtime.dist import agree
from ..runtime.faults import crash_point
from ..runtime.logging import progress, train_command
from ..runtime.runner import stage_checkpoint
from ..tasks.base import Task, quiet_mmengine
from .context import SearchContext, Sources
from .coordination import wait_for
from .method import get_method
from .settings import ColtSettings
from .theta0 import check_finite, init_checkpoint, init_source, map_init_ticket
from .train_cfgs import check_train_cfgs
from .workdir import WorkDir, check_writable

# the parts of a config that shape a search's result besides its colt block: a resume that
# changes one of them is refused (--allow-changed accepts it)
RESULT_KEYS = ('model', 'train_dataloader', 'val_dataloader', 'test_dataloader', 'train_cfg',
               'optim_wrapper', 'param_scheduler', 'val_evaluator', 'test_evaluator',
               'auto_scale_lr')


def check_partition_job(s: ColtSettings, partition: int) -> None:
    """``--partition i``: a round-based method, and i is one of its partitions."""
    n = s.num_groups
    if not get_method(s.method).rounds:
        raise SearchError(f"--partition runs one partition of a 'colt' or 'imp' search, "
                          f"not method={s.method!r}: drop --partition")
    if not 0 <= partition < n:
        raise SearchError(f'--partition {partition}: this search has {n} partition(s), '
                          f'numbered 0..{n - 1}')


def preflight(cfg: Config, s: ColtSettings, task: Task, work: WorkDir,
              partition: Optional[int] = None, resume: bool = False,
              wait_interval: float = 2.0, wait_timeout: Optional[float] = None
              ) -> SearchContext:
    """The checks that need the data, the model or the files the settings name; writes
    nothing. Returns the search's context (so no ticket is read or model built twice)."""
    if partition is not None:
        check_partition_job(s, partition)
    check_train_cfgs(cfg, s)  # the loops of every stage kind, before the first round trains
    classes = task.class_names(cfg)
    groups = partition_classes(classes, s.num_groups, s.partition_scheme, s.seed,
                               s.partition_groups)
    check_writable(work.root)
    work.check_no_links()
    model = task.build_model(cfg)
    prunable, channel_groups = masked_params(model, s.spec, s.granularity, s.channel_groups)
    if channel_groups and s.channel_divisor > max(g.channels for g in channel_groups):
        raise SearchError(f'colt.channel_divisor={s.channel_divisor} is wider than every '
                          f'channel group (the widest has '
                          f'{max(g.channels for g in channel_groups)} channels), so nothing '
                          f'could be pruned: use a divisor such as 8 or 16')
    params = [n for n, _ in model.named_parameters()]
    unused = [p for p in s.spec.include if not any(fnmatch.fnmatchcase(n, p) for n in params)]
    if unused:
        raise SearchError(f'colt.prunable include pattern(s) {unused} match no parameter of '
                          f'the model (e.g. {params[:2]}): fix or remove them')
    if s.distill:
        check_teacher(s.distill['teacher'], model)
    if weight_score(s.weight_score).needs_trainable:
        check_movable(model, prunable, s.weight_score)
    task.check_classes(cfg, classes)
    if len(groups) > 1:
        check_partition_shapes(cfg, task, model, prunable, groups, classes, s)
    if init_checkpoint(cfg):  # a pretrained backbone: its values are checked here once
        with quiet_mmengine():
            model.init_weights()
        check_finite(model.state_dict(), init_source(cfg, s))
    sources = Sources(
        random=checked_mask_source(s.random_from, model, prunable, 'random_from')
        if s.random_from else None,
        mask=checked_mask_source(s.mask_from, model, prunable, 'mask_from')
        if s.mask_from else None,
        init_ticket=_init_ticket(cfg, s, task, model, prunable) if s.init_ticket else None)
    return SearchContext(cfg=cfg, settings=s, work=work, task=task, classes=list(classes),
                         groups=groups, prunable=prunable, sources=sources,
                         partition=partition, resume=resume, wait_interval=wait_interval,
                         wait_timeout=wait_timeout)


def _init_ticket(cfg: Config, s: ColtSettings, task: Task, model, prunable) -> tuple:
    check_init_ticket_exists(s.init_ticket['path'], cfg.get('pretrain_config'))
    return map_init_ticket(s, task.arch_name(cfg), model, prunable)


def check_partition_shapes(cfg: Config, task: Task, model, prunable: List[str],
                           groups: List[List[str]], classes: List[str],
                           s: ColtSettings) -> None:
    """Every prunable weight has the same shape in every partition's model (a classification
    head sized for the partition's classes has not, and could not be rewound to theta0)."""
    shapes = {n: tuple(p.shape) for n, p in model.named_parameters()}
    for group in groups:
        part = copy.deepcopy(cfg)
        task.restrict(part, group, classes, s.partition_policy)
        own = {n: tuple(p.shape) for n, p in task.build_model(part).named_parameters()}
        bad = [n for n in prunable if own.get(n) != shapes[n]]
        if bad:
            raise SearchError(f'colt.prunable covers {bad[:3]}, whose shape changes with a '
                              f'partition\'s classes ({shapes[bad[0]]} -> {own.get(bad[0])}): '
                              f'leave it out (colt.prunable.exclude) or keep linear=False')


def check_init_ticket_exists(path: str, pretrain_config: Optional[str]) -> None:
    """A missing pretrained theta0 names the config that trains it (``pretrain_config``)."""
    if osp.isfile(path) or pretrain_config is None:
        return  # load_ticket says what is wrong with a file it cannot read
    raise SearchError(f'init_ticket {path} does not exist: train it first with '
                      f'{train_command()} {pretrain_config}')


def check_teacher(path: str, model) -> None:
    """``colt.distill.teacher``: a checkpoint of the student's architecture, checked before
    anything trains (a missing file or another architecture is one line)."""
    from ..runtime.evaluate import TEACHER_FIX, check_fits, read_weights
    if not osp.isfile(path):
        raise SearchError(f'colt.distill.teacher {path} does not exist: train the dense '
                          f'parent first (e.g. colt.method=dense) and pass its final_masked.pth')
    check_fits(model, read_weights(path), path, 'the student', TEACHER_FIX)


def check_movable(model, prunable, score: str) -> None:
    """Movement scores rank weights by how far training moved them: a frozen weight (e.g. mmdet's
    ``frozen_stages``) never moves, scores 0 and would be pruned before any trained one."""
    names = set(prunable)
    frozen = [n for n, p in model.named_parameters() if n in names and not p.requires_grad]
    if frozen:
        raise SearchError(f"colt.weight_score={score!r} cannot rank the {len(frozen)} frozen "
                          f"prunable weights (e.g. {frozen[0]}: they never move, so all would be "
                          f"pruned first): leave them out with colt.prunable.exclude, unfreeze "
                          f"them, or use weight_score='magnitude'")


def checked_mask_source(path: str, model, prunable: List[str], option: str) -> dict:
    """The masks of the ``option`` (random_from / mask_from) ticket, checked against the
    model's prunable layers."""
    masks = load_ticket(path).masks
    shapes = {n: tuple(p.shape) for n, p in model.named_parameters()}
    if set(masks) != set(prunable) or any(tuple(m.shape) != shapes[n] for n, m in masks.items()):
        raise SearchError(f'{option} ticket {path} masks other layers than this config '
                          f'prunes: use a ticket of the same model and prunable settings')
    return masks


def open_work_dir(ctx: SearchContext) -> None:
    """A new search needs an unused work dir; ``--resume`` needs a started one. Called with
    the work dir locked (:meth:`WorkDir.lock`), so no other run writes there meanwhile."""
    work = ctx.work
    if ctx.partition is not None:
        if ctx.partition:  # jobs 1..N-1 join once partition 0 has written theta0
            wait_for(ctx, lambda: osp.exists(work.theta0),
                     'the search to start (partition 0 writes theta0)')
        if is_main_process():
            work.remove_temp_files(ctx.partition)  # its own stage folders only
        return
    started = work.started()
    if ctx.resume and not started:
        raise SearchError(f'--resume: no search found in {work.root} (no colt_settings.json): '
                          f'run without --resume to start one')
    if not ctx.resume and started:
        raise SearchError(f'{work.root} already holds a search: pass --resume to continue it, '
                          f'or choose another --work-dir (nothing is overwritten)')
    if ctx.resume and is_main_process():
        work.remove_temp_files()
    barrier()  # every rank has looked at the work dir before rank 0 writes into it


def config_record(cfg: Config) -> dict:
    """The parts of ``cfg`` that shape the result (:data:`RESULT_KEYS`), as plain JSON."""
    return json.loads(json.dumps({k: cfg.get(k) for k in RESULT_KEYS}, default=str))


def _flat(value, prefix: str = '') -> dict:
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            out.update(_flat(v, f'{prefix}{k}.'))
        return out or {prefix[:-1]: {}}
    if isinstance(value, list):
        out = {}
        for i, v in enumerate(value):
            out.update(_flat(v, f'{prefix}{i}.'))
        return out or {prefix[:-1]: []}
    return {prefix[:-1]: value}


def config_changes(started: dict, current: dict) -> List[str]:
    """The dotted config keys whose values differ (``optim_wrapper.optimizer.lr``)."""
    a, b = _flat(started), _flat(current)
    return sorted(k for k in set(a) | set(b) if a.get(k, '<unset>') != b.get(k, '<unset>'))


def record_settings(ctx: SearchContext, allow_changed: bool = False) -> None:
    """Record the settings and the config (a new search) or check that a resumed one uses the
    same: a changed colt setting is refused (raising the target of a round-based search
    excepted), and so is a changed model, data, schedule or optimizer unless
    ``allow_changed``."""
    work = ctx.work
    current = json.loads(json.dumps(ctx.settings.record()))
    config = config_record(ctx.cfg)
    if agree(not osp.exists(work.settings)):
        if agree(osp.exists(work.theta0) or osp.exists(work.theta_init)):
            raise SearchError(f'{work.root} holds theta0 but no colt_settings.json, so its '
                              f'settings cannot be checked: use a new --work-dir')
        if is_main_process():
            atomic_write_json(work.settings, dict(current, _config=config), overwrite=False)
        crash_point('settings')
        barrier()
        return
    started = read_json(work.settings)
    started_config = started.pop('_config', None)  # None: a search from before the record
    # an option added after the search started counts with its default value
    defaults = json.loads(json.dumps(type(ctx.settings)().record()))
    changed = sorted(k for k in set(started) | set(current)
                     if started.get(k, defaults.get(k)) != current.get(k))
    config_changed = [] if started_config is None else config_changes(started_config, config)
    if config_changed and not allow_changed:
        raise SearchError(f'--resume with a changed config: {config_changed[:6]} differ from '
                          f'the search\'s start: restore them, use a new --work-dir, or pass '
                          f'--allow-changed to continue under the new values')
    rewrite = bool(config_changed)
    if changed and extends(ctx, started, changed):
        # the rounds do not depend on the target: a search continued to a higher one keeps them
        progress(f"continuing the search to target_sparsity {ctx.settings.target_sparsity:.0%}"
                 f" (was {started['target_sparsity']:.0%}), max_rounds "
                 f"{ctx.settings.max_rounds} (was {started['max_rounds']})")
        rewrite = True
    elif changed and allow_changed and only_unstarted_final(ctx, changed):
        progress(f'--allow-changed: colt settings {changed} changed; they shape only the final '
                 f'training, which has not started: continuing under the new values')
        rewrite = True
    elif changed:
        hint = (' (--allow-changed accepts a change of ' + ', '.join(FINAL_ONLY) + ' while '
                'the final training has not started)') if set(changed) <= set(FINAL_ONLY) \
            else ''
        raise SearchError(f'--resume with changed colt settings {changed} (was '
                          f'{[started.get(k) for k in changed]}): restore them or use a new '
                          f'--work-dir' + hint)
    if rewrite:
        if config_changed:
            progress(f'--allow-changed: continuing with a changed config {config_changed[:6]}')
        if is_main_process():
            atomic_write_json(work.settings, dict(current, **(
                {} if started_config is None else {'_config': config})), overwrite=True)
        barrier()


# colt settings only the final training reads: a resume with --allow-changed may change them
# until that training has begun (a typo there used to strand every round's work)
FINAL_ONLY = ('final_train_cfg', 'final_train', 'distill', 'metric_key')


def only_unstarted_final(ctx: SearchContext, changed: list) -> bool:
    """``changed`` are settings of the final training only, and it has not begun (no
    checkpoint of its stage, no final ticket; a folder left by a failed start does not count)."""
    work = ctx.work
    return set(changed) <= set(FINAL_ONLY) and agree(
        stage_checkpoint(work.final_stage) is None and not osp.exists(work.final_ticket))


# what a resumed search may raise: the round loop stops on them, nothing else depends on them
EXTENDABLE = ('target_sparsity', 'max_rounds')


def extends(ctx: SearchContext, started: dict, changed: list) -> bool:
    """``changed`` only raises the target or the round limit of a round-based search whose
    final training has not begun (the final ticket is trained for one target)."""
    s, work = ctx.settings, ctx.work
    return (set(changed) <= set(EXTENDABLE) and get_method(s.method).rounds
            and s.target_sparsity >= started['target_sparsity']
            and s.max_rounds >= started['max_rounds']
            and agree(not osp.exists(work.final_stage) and not osp.exists(work.final_ticket)))
