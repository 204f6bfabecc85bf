"""Starting (or resuming, or joining) a search: every check first, then the settings record.

Nothing is written before every input (data, model, files named by the settings) has been
checked. The settings record is the first file of a search, so a search killed at any later
point is resumed under the settings it started with.
"""
import fnmatch
import json
import os.path as osp
from typing import Optional

from mmengine.dist import barrier, is_main_process

from ..core import atomic_write_json
from .distributed import agree
from .errors import SearchError
from .faults import crash_point
from .prunable import masked_params
from .theta0 import map_init_ticket
from .workdir import check_writable, read_json


def check_partition_job(search) -> None:
    """``--partition i``: a round-based method, and i is one of its partitions."""
    from .methods import METHODS
    n, i = search.s.num_groups, search.partition
    if not METHODS[search.s.method].rounds:
        raise SearchError(f"--partition runs one partition of a 'colt' or 'imp' search, "
                          f"not method={search.s.method!r}: drop --partition")
    if not 0 <= i < n:
        raise SearchError(f'--partition {i}: this search has {n} partition(s), numbered '
                          f'0..{n - 1}')


def preflight(search) -> None:
    """The checks that need the model or the files the settings name; writes nothing.

    Keeps what later steps need (``prunable``, ``random_source``, ``mask_source``,
    ``init_ticket``) on
    ``search``, so no ticket is read or model built twice.
    """
    s = search.s
    check_writable(search.work.root)
    model = search.task.build_model(search.cfg)
    prunable, _ = masked_params(model, s.spec, s.granularity)
    params = [n for n, _ in model.named_parameters()]
    unused = [p for p in s.spec.include if not any(fnmatch.fnmatchcase(n, p) for n in params)]
    if unused:
        raise SearchError(f'colt.prunable include pattern(s) {unused} match no parameter of '
                          f'the model (e.g. {params[:2]}): fix or remove them')
    if s.weight_score == 'movement':
        check_movable(model, prunable)
    search.task.check_classes(search.cfg, search.classes)
    search.prunable = prunable
    from .methods import checked_mask_source
    if s.random_from:
        search.random_source = checked_mask_source(s.random_from, model, prunable,
                                                   'random_from')
    if s.mask_from:
        search.mask_source = checked_mask_source(s.mask_from, model, prunable, 'mask_from')
    if s.init_ticket:
        check_init_ticket_exists(s.init_ticket['path'], search.cfg.get('pretrain_config'))
        search.init_ticket = map_init_ticket(s, search.task.arch_name(search.cfg), model,
                                             prunable)


def check_init_ticket_exists(path: str, pretrain_config: Optional[str]) -> None:
    """A missing pretrained theta0 names the config that trains it (``pretrain_config``)."""
    if osp.isfile(path) or pretrain_config is None:
        return  # load_ticket says what is wrong with a file it cannot read
    raise SearchError(f'init_ticket {path} does not exist: train it first with '
                      f'python tools/train.py {pretrain_config}')


def check_movable(model, prunable) -> None:
    """Movement scores rank weights by how far training moved them: a frozen weight (e.g. mmdet's
    ``frozen_stages``) never moves, scores 0 and would be pruned before any trained one."""
    names = set(prunable)
    frozen = [n for n, p in model.named_parameters() if n in names and not p.requires_grad]
    if frozen:
        raise SearchError(f"colt.weight_score='movement' cannot rank the {len(frozen)} frozen "
                          f"prunable weights (e.g. {frozen[0]}: they never move, so all would be "
                          f"pruned first): leave them out with colt.prunable.exclude, unfreeze "
                          f"them, or use weight_score='magnitude'")


def open_work_dir(search) -> None:
    """A new search needs an unused work dir; ``--resume`` needs a started one."""
    work = search.work
    if search.partition is not None:
        if search.partition:  # jobs 1..N-1 join once partition 0 has written theta0
            from .coordination import wait_for
            wait_for(search, lambda: osp.exists(work.theta0),
                     'the search to start (partition 0 writes theta0)')
        return
    started = work.started()
    if search.resume and not started:
        raise SearchError(f'--resume: no search found in {work.root} (no colt_settings.json): '
                          f'run without --resume to start one')
    if not search.resume and started:
        raise SearchError(f'{work.root} already holds a search: pass --resume to continue it, '
                          f'or choose another --work-dir (nothing is overwritten)')
    if search.resume and is_main_process():
        work.remove_temp_files()
    barrier()  # every rank has looked at the work dir before rank 0 writes into it


def record_settings(search) -> None:
    """Record the settings (a new search) or check that a resumed one uses the same."""
    work = search.work
    current = json.loads(json.dumps(search.s.record()))
    if agree(not osp.exists(work.settings)):
        if agree(osp.exists(work.theta0) or osp.exists(work.theta_init)):
            raise SearchError(f'{work.root} holds theta0 but no colt_settings.json, so its '
                              f'settings cannot be checked: use a new --work-dir')
        if is_main_process():
            atomic_write_json(work.settings, current, overwrite=False)
        crash_point('settings')
        barrier()
        return
    started = read_json(work.settings)
    # an option added after the search started counts with its default value
    defaults = json.loads(json.dumps(type(search.s)().record()))
    changed = sorted(k for k in set(started) | set(current)
                     if started.get(k, defaults.get(k)) != current.get(k))
    if changed and extends(search, started, changed):
        # the rounds do not depend on the target: a search continued to a higher one keeps them
        search.progress(f"continuing the search to target_sparsity {search.s.target_sparsity:.0%}"
                        f" (was {started['target_sparsity']:.0%}), max_rounds "
                        f"{search.s.max_rounds} (was {started['max_rounds']})")
        if is_main_process():
            atomic_write_json(work.settings, current)
        barrier()
    elif changed:
        raise SearchError(f'--resume with changed colt settings {changed} (was '
                          f'{[started.get(k) for k in changed]}): restore them or use a new '
                          f'--work-dir')


# what a resumed search may raise: the round loop stops on them, nothing else depends on them
EXTENDABLE = ('target_sparsity', 'max_rounds')


def extends(search, started: dict, changed: list) -> bool:
    """``changed`` only raises the target or the round limit of a round-based search whose
    final training has not begun (the final ticket is trained for one target)."""
    from .methods import METHODS
    s, work = search.s, search.work
    return (set(changed) <= set(EXTENDABLE) and METHODS[s.method].rounds
            and s.target_sparsity >= started['target_sparsity']
            and s.max_rounds >= started['max_rounds']
            and agree(not osp.exists(work.final_stage) and not osp.exists(work.final_ticket)))
