"""The COLT / IMP / random-ticket search, driven stage by stage through MMEngine Runners.

A search is a sequence of *stages*, each one ordinary MMEngine training run in its own folder::

    work_dir/
      theta0.safetensors                  shared initial state (seeded)
      rounds/round_01/part_0/ ...         partition 0 of round 1: checkpoints, mask, result.json
      tickets/round_01.safetensors        intersection of the round's partition masks + theta0
      final/                              final ticket trained on all classes
      tickets/final.safetensors           final mask + theta0 + trained values
      final_masked.pth                    mask-applied checkpoint (mmdet/mmengine tools load it)
      colt_summary.json                   rounds, sparsity, metrics, seconds

Progress lives in those files only, so ``resume`` simply skips finished stages and lets MMEngine
resume an unfinished one from its last checkpoint. A ticket of an earlier round is never
overwritten. COLT is N >= 2 partitions; IMP is the same loop with N = 1 on all classes.

Scale-out uses the same files. Under torch.distributed every rank runs every stage (MMEngine
DDP) and only rank 0 writes, with a barrier after each write. With ``partition=i`` a process
(or a whole DDP job) runs only partition i of every round; partition jobs share the work dir
and a round is closed by whichever job sees all N partition masks first. The round ticket is
created by an exclusive link, so two jobs closing the same round cannot both write it.
"""
import contextlib
import copy
import fnmatch
import glob
import json
import logging
import os
import os.path as osp
import re
import time
from dataclasses import asdict, dataclass, field
from typing import List, Optional

import torch
from mmengine.config import Config, ConfigDict
from mmengine.registry import MODELS
from mmengine.runner import Runner, set_random_seed

from ..core import (PrunableSpec, atomic_write_bytes, atomic_write_json, intersect, load_mask,
                    load_ticket, magnitude_prune, ones_mask, overlap_report,
                    partition_classes, random_mask_like, read_ticket_meta, save_ticket,
                    sparsity, update_json,
                    vote)
from ..core.apply import state_of, unwrap
from ..core.transfer import map_ticket
from ..report import eta_rounds, plot_metric_vs_sparsity
from ..version import __version__
from .distributed import agree, is_main_process, sync
from .faults import crash_point
from .lifecycle import release_runner, stage_checkpoint, without_code_formatting
from .state import load_state, save_masked_checkpoint, save_state
from .tasks import get_task


@dataclass
class ColtSettings:
    """The ``colt = dict(...)`` block of a config (documented in README.md)."""

    method: str = 'colt'  # 'colt' | 'imp' | 'random'
    task: str = 'cls'  # 'cls' | 'det'
    num_partitions: int = 2
    partition_scheme: str = 'contiguous'  # 'contiguous' | 'random' | 'explicit'
    partition_groups: Optional[list] = None
    prune_ratio: float = 0.2
    prune_scope: str = 'global'  # 'global' | 'layer'
    target_sparsity: float = 0.8
    max_rounds: int = 30
    min_keep: Optional[int] = None  # keep a weight kept by >= k partitions (None: all N)
    prunable: dict = field(default_factory=dict)
    seed: int = 0
    rewind_iter: int = 0  # > 0: late rewinding to the weights after this many dense iterations
    final_train: bool = True
    final_train_cfg: Optional[dict] = None
    random_from: Optional[str] = None  # method='random': ticket whose per-layer sparsity to copy
    # a ticket (e.g. from ImageNet) as the sparse initialisation:
    # dict(path=..., mode='rewind'|'trained', key_map={'backbone.': 'backbone.'})
    init_ticket: Optional[dict] = None
    keep_stage_checkpoints: bool = False
    metric_key: Optional[str] = None
    partition_policy: str = 'ignore'  # detection: 'ignore' | 'drop' | 'exclusive'
    progress_interval: int = 50  # iterations between progress lines (0: off)

    @classmethod
    def from_cfg(cls, cfg) -> 'ColtSettings':
        cfg = dict(cfg or {})
        unknown = set(cfg) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f'unknown colt option(s) {sorted(unknown)}: valid options are '
                             f'{sorted(cls.__dataclass_fields__)}')
        s = cls(**{k: (v.to_dict() if isinstance(v, ConfigDict) else v) for k, v in cfg.items()})
        s.validate()
        return s

    def validate(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"colt.method must be 'colt', 'imp', 'random', 'dense', 'ticket' "
                             f"or 'oneshot', got {self.method!r}")
        if self.method == 'ticket' and not self.init_ticket:
            raise ValueError("colt.method='ticket' needs init_ticket=dict(path=...)")
        if self.init_ticket:
            extra = set(self.init_ticket) - {'path', 'mode', 'key_map', 'allow_partial'}
            if 'path' not in self.init_ticket or extra:
                raise ValueError(f'colt.init_ticket takes path=, mode=, key_map=, '
                                 f'allow_partial= (got {sorted(self.init_ticket)})')
            if self.init_ticket.get('mode', 'rewind') not in ('rewind', 'trained'):
                raise ValueError(f"colt.init_ticket.mode must be 'rewind' or 'trained', got "
                                 f"{self.init_ticket.get('mode')!r}")
        for name in ('prune_ratio', 'target_sparsity'):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or not 0.0 < v < 1.0:
                raise ValueError(f'colt.{name} must be in (0, 1), got {v!r}: e.g. '
                                 f'{name}=0.2' if name == 'prune_ratio' else
                                 f'colt.{name} must be in (0, 1), got {v!r}: e.g. {name}=0.8')
        if not isinstance(self.num_partitions, int) or self.num_partitions < 1:
            raise ValueError(f'colt.num_partitions must be an integer >= 1, got '
                             f'{self.num_partitions!r}: use 2 for COLT, 1 for IMP')
        if self.method == 'imp' and self.num_partitions != 1:
            raise ValueError("colt.method='imp' needs num_partitions=1 (IMP trains on all data)")
        if self.method == 'random' and not self.random_from:
            raise ValueError("colt.method='random' needs random_from='<ticket>.safetensors' "
                             "(the ticket whose per-layer sparsity the random mask copies)")
        if not isinstance(self.rewind_iter, int) or self.rewind_iter < 0:
            raise ValueError(f'colt.rewind_iter must be an integer >= 0, got {self.rewind_iter!r}')
        for name in ('max_rounds', 'seed', 'progress_interval'):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < (1 if name == 'max_rounds'
                                                                     else 0):
                raise ValueError(f'colt.{name} must be an integer >= '
                                 f"{1 if name == 'max_rounds' else 0}, got {v!r}")
        _check_choice('prune_scope', self.prune_scope, ('global', 'layer'))
        _check_choice('task', self.task, ('cls', 'det'))
        _check_choice('partition_scheme', self.partition_scheme,
                      ('contiguous', 'random', 'explicit'))
        _check_choice('partition_policy', self.partition_policy, ('ignore', 'drop', 'exclusive'))
        n = self.num_partitions if self.method == 'colt' else 1
        if self.min_keep is not None and (not isinstance(self.min_keep, int)
                                          or not 1 <= self.min_keep <= n):
            raise ValueError(f'colt.min_keep must be an integer in 1..{n} (the number of '
                             f'partitions) or None, got {self.min_keep!r}')
        for name in ('random_from', 'metric_key'):
            v = getattr(self, name)
            if v is not None and not isinstance(v, str):
                raise ValueError(f'colt.{name} must be a string, got {v!r}')
        PrunableSpec.from_cfg(self.prunable)


def _check_choice(name: str, value, choices: tuple) -> None:
    if value not in choices:
        raise ValueError(f'colt.{name} must be one of {list(choices)}, got {value!r}')


# colt/imp: rounds; random: a random mask like random_from; dense: no pruning; ticket: train
# init_ticket's mask as it is; oneshot: magnitude-prune theta0 once to target_sparsity
METHODS = ('colt', 'imp', 'random', 'dense', 'ticket', 'oneshot')


class SearchError(RuntimeError):
    """A search that cannot start or go on; the message says how to fix it."""


class ColtSearch:
    """Runs a COLT/IMP/random search described by an MMEngine config with a ``colt`` block.

    Args:
        cfg (Config): full MMEngine config (model, dataloaders, train_cfg, ...) + ``colt``.
        resume (bool): continue the search found in ``cfg.work_dir``.
        partition (int, optional): run only this partition of every round (a partition job;
            start-or-join: the work dir may already hold the search). The final training is
            left to a later ``resume`` run.
        wait_interval (float): seconds between checks for other partition jobs' files.
        wait_timeout (float, optional): give up waiting for other partition jobs after this
            many seconds (None: wait as long as it takes).
    """

    def __init__(self, cfg: Config, resume: bool = False, partition: Optional[int] = None,
                 wait_interval: float = 2.0, wait_timeout: Optional[float] = None) -> None:
        if 'colt' not in cfg:
            raise SearchError('config has no colt = dict(...) block: add one (see configs/)')
        self.cfg = cfg
        self.s = ColtSettings.from_cfg(cfg.colt)
        self.task = get_task(self.s.task, self.s.partition_policy)
        self.work_dir = osp.abspath(cfg.work_dir)
        self.resume = resume
        self.partition = partition
        self.wait_interval = wait_interval
        self.wait_timeout = wait_timeout
        self.is_main = is_main_process()
        self.metric_key = self.s.metric_key or self.task.metric_key
        self.theta0_path = osp.join(self.work_dir, 'theta0.safetensors')
        # the seeded initialisation; equals theta0 unless late rewinding is on
        self.init_path = osp.join(self.work_dir, 'theta_init.safetensors')
        self.init_ticket_path = osp.join(self.work_dir, 'tickets', 'init.safetensors')
        self.summary_path = osp.join(self.work_dir, 'colt_summary.json')
        self.settings_path = osp.join(self.work_dir, 'colt_settings.json')

    # ----------------------------------------------------------------------------- paths
    def ticket_path(self, r: int) -> str:
        return osp.join(self.work_dir, 'tickets', f'round_{r:02d}.safetensors')

    def stage_dir(self, r: int, i: int) -> str:
        return osp.join(self.work_dir, 'rounds', f'round_{r:02d}', f'part_{i}')

    def stage_done(self, r: int, i: int) -> bool:
        """A partition stage is done once its mask exists and its result has the wall time.

        The time is written last, so another partition job never reads a half-finished record.
        """
        sdir = self.stage_dir(r, i)
        return (osp.exists(osp.join(sdir, 'mask.safetensors'))
                and 'seconds' in _read_json(osp.join(sdir, 'result.json')))

    # ----------------------------------------------------------------------------- run
    def prepare(self) -> None:
        """Check everything, then write the settings record and theta0, in that order.

        Nothing is written before every input (data, model, files named by the settings) has
        been checked. The settings record is the first file of a search, so a search killed at
        any later point is resumed under the settings it started with.
        """
        n = self.s.num_partitions if self.s.method == 'colt' else 1
        if self.partition is not None:
            self._check_partition_job(n)
        self.classes = self.task.class_names(self.cfg)
        self.groups = partition_classes(self.classes, n, self.s.partition_scheme, self.s.seed,
                                        self.s.partition_groups)
        self._preflight()
        if self.partition is None:
            self._check_work_dir()
            sync()  # every rank has looked at the work dir before rank 0 writes into it
        elif self.partition:  # partition jobs 1..N-1 join once partition 0 has written theta0
            self._wait_for([self.theta0_path], 'the search to start (partition 0 writes theta0)')
        self._check_settings()
        self._make_theta0()

    def _preflight(self) -> None:
        """The checks that need the model or the files the settings name; writes nothing."""
        _check_writable(self.work_dir)
        with self.task.scope(self.cfg), _quiet_mmengine():
            model = MODELS.build(copy.deepcopy(self.cfg.model))
        spec = PrunableSpec.from_cfg(self.s.prunable)
        prunable = spec.select(model)
        params = [n for n, _ in model.named_parameters()]
        unused = [p for p in spec.include if not any(fnmatch.fnmatchcase(n, p) for n in params)]
        if unused:
            raise SearchError(f'colt.prunable include pattern(s) {unused} match no parameter of '
                              f'the model (e.g. {params[:2]}): fix or remove them')
        self.task.check_classes(self.cfg, self.classes)
        # kept for the steps that write files, so no ticket is read or model built twice
        self.prunable = prunable
        if self.s.random_from:
            self._random_source = _checked_random_from(self.s.random_from, model, prunable)
        if self.s.init_ticket:
            self._init_ticket = self._map_init_ticket(model, prunable)

    def run(self) -> dict:
        """Run (or resume) the whole search; returns the summary dict."""
        self.prepare()
        groups = self.groups
        self._progress(f'{self.s.method.upper()} search: {len(groups)} partition(s) '
                       f'{[len(g) for g in groups]} classes, p={self.s.prune_ratio}, target '
                       f'sparsity {self.s.target_sparsity:.0%}, work dir {self.work_dir}'
                       + ('' if self.partition is None else
                          f', this job: partition {self.partition}'))

        rounds: List[dict] = []
        if self.partition is not None:
            self._search_rounds(rounds)
            self._progress(f'partition {self.partition} finished its rounds; train the final '
                           f'ticket with: tools/train.py CONFIG --work-dir {self.work_dir} '
                           f'--resume')
            return self._summary(rounds, None)
        if self.s.method == 'random':
            mask_path = self._random_ticket()
        elif self.s.method == 'dense':
            mask_path = None  # the same final schedule, nothing pruned: the dense reference
        elif self.s.method == 'ticket':
            mask_path = self.init_ticket_path
        elif self.s.method == 'oneshot':
            mask_path = self._oneshot_ticket()
        else:
            mask_path = self._search_rounds(rounds)
        final = self._final(mask_path) if self.s.final_train else None
        summary = self._summary(rounds, final)
        if self.is_main:
            self._write_summary(summary)
        return summary

    def _check_partition_job(self, n: int) -> None:
        if self.s.method not in ('colt', 'imp'):
            raise SearchError(f"--partition runs one partition of a 'colt' or 'imp' search, "
                              f"not method={self.s.method!r}: drop --partition")
        if not 0 <= self.partition < n:
            raise SearchError(f'--partition {self.partition}: this search has {n} '
                              f'partition(s), numbered 0..{n - 1}')

    def _wait_for(self, paths: List[str], what: str, ready=None) -> None:
        """Poll until every path exists (or ``ready()`` is true); other jobs write them."""
        ready = ready or (lambda: all(osp.exists(p) for p in paths))
        start = last_note = time.time()
        while not ready():
            now = time.time()
            if self.wait_timeout is not None and now - start > self.wait_timeout:
                raise SearchError(f'waited {now - start:.0f} s for {what}: start the missing '
                                  f'partition job(s) with --partition i, then rerun this one')
            if now - last_note >= 60:
                self._progress(f'waiting for {what} ({now - start:.0f} s)')
                last_note = now
            time.sleep(self.wait_interval)

    def _check_work_dir(self) -> None:
        started = any(osp.exists(p) for p in (self.settings_path, self.theta0_path,
                                               self.init_path))
        if self.resume:
            if not started:
                raise SearchError(f'--resume: no search found in {self.work_dir} (no '
                                  f'colt_settings.json): run without --resume to start one')
            if self.is_main:
                # temp files of writes a crash interrupted; finished ones were renamed in place
                for d, _, files in os.walk(self.work_dir):
                    for f in files:
                        if f.startswith('.tmp.'):
                            os.remove(osp.join(d, f))
            return
        if started:
            raise SearchError(f'{self.work_dir} already holds a search: pass --resume to '
                              f'continue it, or choose another --work-dir (nothing is '
                              f'overwritten)')

    def _check_settings(self) -> None:
        """Record the settings (a new search) or check that a resumed one uses the same."""
        current = json.loads(json.dumps(asdict(self.s)))
        if agree(not osp.exists(self.settings_path)):
            if agree(osp.exists(self.theta0_path) or osp.exists(self.init_path)):
                raise SearchError(f'{self.work_dir} holds theta0 but no colt_settings.json, so '
                                  f'its settings cannot be checked: use a new --work-dir')
            if self.is_main:
                atomic_write_json(self.settings_path, current, overwrite=False)
            crash_point('settings')
            sync()
            return
        started = _read_json(self.settings_path)
        changed = sorted(k for k in set(started) | set(current)
                         if started.get(k) != current.get(k))
        if changed:
            raise SearchError(f'--resume with changed colt settings {changed} (was '
                              f'{[started.get(k) for k in changed]}): restore them or use a new '
                              f'--work-dir')

    def _progress(self, msg: str) -> None:
        if self.is_main:
            print(f'[colt] {msg}', flush=True)

    # ----------------------------------------------------------------------------- theta0
    def _make_theta0(self) -> None:
        """theta0: the seeded init, or (late rewinding) the weights after ``rewind_iter`` its."""
        if agree(osp.exists(self.theta0_path)):
            return
        if self.is_main and not osp.exists(self.init_path):
            set_random_seed(self.s.seed, deterministic=False)
            with self.task.scope(self.cfg), _quiet_mmengine():
                model = MODELS.build(copy.deepcopy(self.cfg.model))
                if hasattr(model, 'init_weights'):
                    model.init_weights()
            self.task.load_init(self.cfg, model)
            if self.s.init_ticket:
                self._apply_init_ticket(model)
            save_state(self.init_path, model)
        crash_point('theta_init')
        sync()
        if self.s.rewind_iter == 0:
            if self.is_main:
                with open(self.init_path, 'rb') as f:
                    atomic_write_bytes(self.theta0_path, f.read())
            crash_point('theta0')
            sync()
        else:
            self._progress(f'late rewinding: {self.s.rewind_iter} dense iterations on all '
                           f'classes to find theta0 ...')
            self._run_stage(osp.join(self.work_dir, 'rewind'), None, None, prune=False,
                            rewind_stage=True)
            sync()
        self._progress(f'theta0 (seed {self.s.seed}, rewind_iter {self.s.rewind_iter}) -> '
                       f'{self.theta0_path}')

    def _map_init_ticket(self, model: torch.nn.Module, prunable: List[str]):
        """init_ticket mapped onto ``model``, checked: (ticket, report, mask, coverage).

        A ticket of another architecture or depth, or one that covers only part of the
        prunable layers, is an error unless ``init_ticket.allow_partial=True``.
        """
        opts = self.s.init_ticket
        ticket = load_ticket(opts['path'])
        shapes = {n: p.shape for n, p in model.named_parameters()}
        mapped, report = map_ticket(ticket, shapes, opts.get('key_map'))
        outside = sorted(set(mapped.masks) - set(prunable))
        if outside:
            raise SearchError(f'init_ticket masks layers this config does not prune, e.g. '
                              f'{outside[:3]}: widen colt.prunable or map fewer layers')
        mode = opts.get('mode', 'rewind')
        if not (mapped.theta0 if mode == 'rewind' else mapped.trained):
            raise SearchError(f"init_ticket {opts['path']} has no {mode} values: use "
                              f"mode='rewind' or a final ticket (which stores trained values)")
        total = sum(shapes[n].numel() for n in prunable)
        coverage = sum(shapes[n].numel() for n in prunable if n in mapped.masks) / total
        src_arch, arch = str(ticket.meta.get('arch', '?')), self.task.arch_name(self.cfg)
        src_depth, depth = _depth(src_arch), _depth(arch)
        wrong_depth = src_depth is not None and depth is not None and src_depth != depth
        if (coverage < 1.0 or wrong_depth) and not opts.get('allow_partial', False):
            raise SearchError(f"init_ticket {opts['path']} (arch {src_arch}) covers "
                              f"{coverage:.1%} of this model's prunable weights (arch {arch}): "
                              f"use a ticket of the same architecture and depth, or set "
                              f"colt.init_ticket.allow_partial=True to train the rest dense")
        mask = ones_mask(model, prunable)
        for n, m in mapped.masks.items():
            mask[n] = m.clone()
        start = sparsity(mask).overall
        if self.s.method in ('colt', 'imp') and start >= self.s.target_sparsity - 1e-9:
            raise SearchError(f'init_ticket sparsity {start:.2%} already reaches '
                              f'target_sparsity {self.s.target_sparsity:.0%}: raise the '
                              f"target or use method='ticket' to train it as it is")
        return mapped, report, mask, coverage

    def _apply_init_ticket(self, model: torch.nn.Module) -> None:
        """Write a (mapped) ticket's masked values into ``model``; its mask starts the search."""
        opts = self.s.init_ticket
        mode = opts.get('mode', 'rewind')
        mapped, report, mask, coverage = self._init_ticket  # mapped and checked by _preflight
        values = mapped.theta0 if mode == 'rewind' else mapped.trained
        params = dict(model.named_parameters())
        with torch.no_grad():
            for n, m in mapped.masks.items():
                params[n].copy_(values[n] * m)
        # a start killed after this file resumes with it (same settings, same content)
        if not osp.exists(self.init_ticket_path):
            save_ticket(self.init_ticket_path, mask, state_of(model), meta=self._meta(
                round=0, source=opts['path'], transfer=report.to_dict(), init_mode=mode))
        crash_point('init_ticket')
        atomic_write_json(osp.join(self.work_dir, 'transfer_report.json'),
                          dict(report.to_dict(), source=opts['path'], mode=mode,
                               prunable_coverage=coverage, sparsity=sparsity(mask).overall))
        self._progress(f"init ticket {opts['path']} ({mode}): {len(report.mapped)} layers "
                       f"mapped, {len(report.dropped)} dropped, covers {coverage:.1%} of the "
                       f"prunable weights ({report.coverage:.1%} of {report.target_prefix}* "
                       f"parameters), sparsity {sparsity(mask).overall:.2%}")

    def _oneshot_ticket(self) -> str:
        """Magnitude-prune theta0 (e.g. a pretrained backbone) once to target_sparsity."""
        path = osp.join(self.work_dir, 'tickets', 'oneshot.safetensors')
        if self.is_main and not osp.exists(path):
            theta0 = load_state(self.theta0_path)
            names = self.prunable
            missing = [k for k in names if k not in theta0]
            if missing:
                raise SearchError(f'theta0 lacks prunable parameters {missing[:3]}: the config '
                                  f'model changed since this search started; use a new '
                                  f'--work-dir')
            mask = {n: torch.ones_like(theta0[n], dtype=torch.bool) for n in names}
            mask = magnitude_prune({n: theta0[n] for n in names}, mask,
                                   self.s.target_sparsity, self.s.prune_scope)
            save_ticket(path, mask, theta0, meta=self._meta(round=0, oneshot=True))
        sync()
        return path

    # ----------------------------------------------------------------------------- rounds
    def _search_rounds(self, rounds: List[dict]) -> Optional[str]:
        mask_path, current = None, 0.0
        if self.s.init_ticket:  # continue pruning from the transferred ticket
            mask_path = self.init_ticket_path
            current = read_ticket_meta(mask_path)['sparsity']
        mine = range(len(self.groups)) if self.partition is None else [self.partition]
        for r in range(1, self.s.max_rounds + 1):
            if current >= self.s.target_sparsity - 1e-9:
                break
            ticket = self.ticket_path(r)
            t0 = time.time()
            for i in mine:
                if agree(not self.stage_done(r, i) and not osp.exists(ticket)):
                    self._progress(f'round {r} partition {i + 1}/{len(self.groups)}: '
                                   f'{len(self.groups[i])} classes, training ...')
                    self._run_stage(self.stage_dir(r, i), mask_path, self.groups[i],
                                    prune=True)
            if self.partition is not None:
                self._wait_for([ticket], f'the other partitions of round {r}', ready=lambda: (
                    osp.exists(ticket) or all(self.stage_done(r, i)
                                              for i in range(len(self.groups)))))
            if self.is_main and not osp.exists(ticket):
                self._close_round(r, current)
            crash_point('round_ticket')
            if self.is_main and not self.s.keep_stage_checkpoints:
                # also after a kill right after the ticket: a resumed search cleans up
                for i in range(len(self.groups)):
                    _remove_checkpoints(self.stage_dir(r, i))
            sync()
            parts = [self._stage_record(self.stage_dir(r, i), i, g)
                     for i, g in enumerate(self.groups)]
            meta = read_ticket_meta(ticket)
            current = meta['sparsity']
            rounds.append(dict(round=r, sparsity=current, seconds=meta['seconds'],
                               partitions=parts,
                               overlap=dict(mean_jaccard=meta['overlap']['mean_jaccard'])))
            metrics = ', '.join(f'{p["metric"]:.3f}' if p['metric'] is not None else 'n/a'
                                for p in parts)
            left = eta_rounds([x['sparsity'] for x in rounds], self.s.target_sparsity)
            mean_s = sum(x['seconds'] for x in rounds) / len(rounds)
            eta = '' if not left else (f', ~{left} more round(s), ETA '
                                       f'~{left * mean_s / 60:.1f} min')
            self._progress(f'round {r} done: sparsity {current:.2%}, partition '
                           f'{self.metric_key} [{metrics}], mean Jaccard '
                           f'{meta["overlap"]["mean_jaccard"]:.3f}, {meta["seconds"]:.0f} s '
                           f'({time.time() - t0:.0f} s this run){eta}')
            if self.is_main:
                self._write_summary(self._summary(rounds, None))
            mask_path = ticket
        if current < self.s.target_sparsity - 1e-9:
            self._progress(f'stopped at max_rounds={self.s.max_rounds} with sparsity '
                           f'{current:.2%} < target {self.s.target_sparsity:.0%}')
        return mask_path

    def _close_round(self, r: int, current: float) -> None:
        """Intersect (or vote on) round r's partition masks into its ticket.

        Safe when several partition jobs close the same round at once: they all compute the same
        mask from the same files, the ticket is created by an exclusive link, and a job that
        finds it already written checks that it holds the same mask.
        """
        ticket = self.ticket_path(r)
        parts = [self._stage_record(self.stage_dir(r, i), i, g)
                 for i, g in enumerate(self.groups)]
        masks = [load_mask(osp.join(self.stage_dir(r, i), 'mask.safetensors'))
                 for i in range(len(self.groups))]
        k = self.s.min_keep or len(masks)
        new_mask = intersect(masks) if k == len(masks) else vote(masks, k)
        new_sparsity = sparsity(new_mask).overall
        if new_sparsity <= current + 1e-12:
            raise SearchError(f'round {r} pruned nothing (sparsity stays '
                              f'{current:.2%}): raise prune_ratio')
        try:
            save_ticket(ticket, new_mask, load_state(self.theta0_path), meta=self._meta(
                round=r, overlap=overlap_report(masks),
                seconds=sum(p['seconds'] for p in parts),
                per_layer_sparsity=sparsity(new_mask).per_layer))
        except FileExistsError:  # another partition job closed the round first
            theirs = load_mask(ticket)
            if any(not torch.equal(theirs[n], new_mask[n]) for n in new_mask):
                raise SearchError(f'{ticket} (written by another job) differs from the '
                                  f'intersection of the round {r} partition masks: the jobs '
                                  f'use different settings; use a new --work-dir')
            return

    def _stage_record(self, sdir: str, i: int, group: List[str]) -> dict:
        res = _read_json(osp.join(sdir, 'result.json'))
        record = dict(index=i, classes=list(group),
                      metric=res.get('metrics', {}).get(self.metric_key),
                      seconds=res.get('seconds', 0.0), train_samples=res.get('train_samples'))
        stats = res.get('partition_stats')
        if stats:
            record.update(images=stats['images'], objects=stats['objects'])
        return record

    def _meta(self, **extra) -> dict:
        return dict(arch=self.task.arch_name(self.cfg), dataset=self.task.dataset_name(self.cfg),
                    classes=list(self.classes), method=self.s.method,
                    partition_scheme=self.s.partition_scheme, partitions=self.groups,
                    num_partitions=len(self.groups), prune_ratio=self.s.prune_ratio,
                    prune_scope=self.s.prune_scope, seed=self.s.seed,
                    toolkit_version=__version__, **extra)

    def _random_ticket(self) -> str:
        path = osp.join(self.work_dir, 'tickets', 'random.safetensors')
        if self.is_main and not osp.exists(path):
            g = torch.Generator().manual_seed(self.s.seed)
            mask = random_mask_like(self._random_source, g)  # checked by _preflight
            save_ticket(path, mask, load_state(self.theta0_path),
                        meta=self._meta(round=0, source=self.s.random_from))
        sync()
        return path

    # ----------------------------------------------------------------------------- stages
    def _run_stage(self, sdir: str, mask_path: Optional[str], group: Optional[List[str]],
                   prune: bool, final: bool = False, rewind_stage: bool = False,
                   release: bool = True) -> Runner:
        """Train one stage in ``sdir``; its workers, logger and files are released at the end
        (``release=False``: the caller tests the runner first and releases it)."""
        cfg = without_code_formatting(copy.deepcopy(self.cfg))
        cfg.pop('colt')
        cfg.work_dir = sdir
        # unique names: several Runners live in one process and MMEngine keys loggers by name
        cfg.experiment_name = f'{osp.basename(osp.dirname(sdir))}_{osp.basename(sdir)}_' \
                              f'{time.time_ns()}'
        cfg.randomness = dict(seed=self.s.seed, deterministic=False)
        if group is not None and len(group) < len(self.classes):
            self.task.restrict(cfg, group, self.classes)
        if final and self.s.final_train_cfg:
            cfg.train_cfg.update(self.s.final_train_cfg)
        if rewind_stage:
            k = self.s.rewind_iter
            cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=k, val_interval=k + 1)
            cfg.param_scheduler = []
            cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=k + 1,
                                                by_epoch=False)
        hook = dict(type='ColtHook', prunable=self.s.prunable, mask=mask_path,
                    theta0=self.init_path if rewind_stage else self.theta0_path,
                    out_state=self.theta0_path if rewind_stage else None,
                    prune_ratio=self.s.prune_ratio if prune else None,
                    prune_scope=self.s.prune_scope,
                    out_mask=osp.join(sdir, 'mask.safetensors') if prune else None,
                    out_result=osp.join(sdir, 'result.json'),
                    progress_interval=self.s.progress_interval, seed=self.s.seed,
                    stage_name=osp.relpath(sdir, self.work_dir))
        cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [hook]
        os.makedirs(sdir, exist_ok=True)
        # MMEngine writes last_checkpoint after each checkpoint: its presence = resumable stage
        cfg.load_from = stage_checkpoint(sdir)
        cfg.resume = cfg.load_from is not None
        if cfg.resume:
            self._progress(f'resuming unfinished stage {sdir}')
        start = time.time()
        runner = Runner.from_cfg(cfg)
        try:
            runner.train()
        except BaseException:
            release_runner(runner)
            raise
        seconds = time.time() - start
        # wall time of the run that finished the stage (a resumed stage counts its last part);
        # the partition's classes / images / objects as its dataset wrapper counted them
        stats = getattr(runner.train_dataloader.dataset, 'stats', None)
        if self.is_main:
            update_json(osp.join(sdir, 'result.json'), seconds=seconds,
                        train_samples=_samples_seen(runner),
                        **({'partition_stats': stats} if stats else {}))
        sync()
        if stats:
            self._progress(f"  partition data: {stats['images']} images, {stats['objects']} "
                           f"objects of {len(stats['classes'])} classes ({stats['policy']})")
        if release:
            release_runner(runner)
        return runner

    def _final(self, mask_path: Optional[str]) -> dict:
        sdir = osp.join(self.work_dir, 'final')
        final_ticket = osp.join(self.work_dir, 'tickets', 'final.safetensors')
        if agree(not osp.exists(final_ticket)):
            self._progress(f'final ticket training on all {len(self.classes)} classes ...')
            runner = self._run_stage(sdir, mask_path, None, prune=False, final=True,
                                     release=False)
            try:
                if 'test_dataloader' in self.cfg and self.cfg.get('test_dataloader'):
                    runner.test()
                sync()
                if self.is_main:
                    self._save_final(runner, mask_path, final_ticket)
            finally:
                release_runner(runner)
            sync()
        if self.is_main and not self.s.keep_stage_checkpoints:
            _remove_checkpoints(sdir)  # after the ticket, also when a kill came in between
        res = _read_json(osp.join(sdir, 'result.json'))
        metrics = res.get('test_metrics') or res.get('metrics', {})
        out = dict(sparsity=read_ticket_meta(final_ticket)['sparsity'],
                   metric=metrics.get(self.metric_key), seconds=res.get('seconds', 0.0),
                   val_metric=res.get('metrics', {}).get(self.metric_key),
                   metric_split='test' if res.get('test_metrics') else 'val')
        self._progress(f'final: sparsity {out["sparsity"]:.2%}, {out["metric_split"]} '
                       f'{self.metric_key} {out["metric"]}')
        return out

    def _save_final(self, runner: Runner, mask_path: Optional[str], final_ticket: str) -> None:
        """final_masked.pth, then the final ticket, which commits the final stage.

        Until the ticket exists the checkpoint belongs to an unfinished final stage, so a
        resumed search rewrites it (same weights); once the ticket exists neither changes.
        """
        model = unwrap(runner.model)
        mask = load_mask(mask_path) if mask_path else ones_mask(model, self.prunable)
        trained = state_of(model)
        save_masked_checkpoint(runner, osp.join(self.work_dir, 'final_masked.pth'),
                               overwrite=True)
        crash_point('final_masked')
        # the rest (BN, neck, heads) whole, so the ticket alone rebuilds the trained model
        dense = {k: v for k, v in trained.items() if k not in mask}
        save_ticket(final_ticket, mask, load_state(self.theta0_path), trained=trained,
                    dense=dense, meta=self._meta(round=len(glob.glob(osp.join(
                        self.work_dir, 'tickets', 'round_*.safetensors')))))
        crash_point('final_ticket')

    def _summary(self, rounds: List[dict], final: Optional[dict]) -> dict:
        return dict(method=self.s.method, num_partitions=len(self.groups),
                    prune_ratio=self.s.prune_ratio, target_sparsity=self.s.target_sparsity,
                    metric_key=self.metric_key, settings=asdict(self.s), rounds=rounds,
                    final=final)

    def _write_summary(self, summary: dict) -> None:
        atomic_write_json(self.summary_path, summary)
        plot = osp.join(self.work_dir, 'metric_vs_sparsity.png')
        tmp = osp.join(self.work_dir, f'.tmp.{os.getpid()}.metric_vs_sparsity.png')
        plot_metric_vs_sparsity([summary], [self.s.method.upper()], tmp,
                                title=f'{self.s.method.upper()} {self.task.dataset_name(self.cfg)}')
        os.replace(tmp, plot)


@contextlib.contextmanager
def _quiet_mmengine():
    """Silence MMEngine's INFO chatter (e.g. per-parameter init_weights logs)."""
    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def _samples_seen(runner: Runner) -> int:
    """Training images the stage processed over all ranks (the training budget spent)."""
    loader = runner.train_dataloader
    if runner.train_loop.__class__.__name__ == 'EpochBasedTrainLoop':
        return len(loader.dataset) * runner.epoch
    return runner.iter * loader.batch_size * runner.world_size


def _read_json(path: str) -> dict:
    if not osp.exists(path):
        return {}
    with open(path) as f:
        return json.load(f)


def _remove_checkpoints(sdir: str) -> None:
    """Drop a finished stage's checkpoints (its mask and result are all later stages need)."""
    for f in glob.glob(osp.join(sdir, '*.pth')) + glob.glob(osp.join(sdir, 'last_checkpoint')):
        with contextlib.suppress(FileNotFoundError):  # another job may have removed it first
            os.remove(f)


def _depth(arch: str) -> Optional[int]:
    """The depth in an architecture name (``FasterRCNN/ResNet18`` -> 18), if it has one."""
    m = re.search(r'(\d+)$', arch)
    return int(m.group(1)) if m else None


def _checked_random_from(path: str, model: torch.nn.Module, prunable: List[str]) -> dict:
    """The masks of the ``random_from`` ticket, checked against the model's prunable layers."""
    masks = load_ticket(path).masks
    shapes = {n: tuple(p.shape) for n, p in model.named_parameters()}
    if set(masks) != set(prunable) or any(tuple(m.shape) != shapes[n] for n, m in masks.items()):
        raise SearchError(f'random_from ticket {path} masks other layers than this config '
                          f'prunes: use a ticket of the same model and prunable settings')
    return masks


def _check_writable(work_dir: str) -> None:
    """A work dir that cannot be created or written is refused before anything is written."""
    for part in work_dir.split(os.sep):
        if len(part.encode()) > 255:
            raise SearchError(f'work dir name {part[:40]}... is longer than the file system '
                              f'allows (255 bytes): choose a shorter --work-dir')
    if len(work_dir.encode()) > 3800:
        raise SearchError(f'work dir path is {len(work_dir)} characters, too long for the files '
                          f'a search writes under it: choose a shorter --work-dir')
    existing = work_dir
    while not osp.exists(existing):
        existing = osp.dirname(existing)
    if not osp.isdir(existing):
        raise SearchError(f'cannot create work dir {work_dir}: {existing} is a file, not a '
                          f'folder; choose another --work-dir')
    if not os.access(existing, os.W_OK | os.X_OK):
        raise SearchError(f'cannot write to work dir {work_dir} ({existing} is not writable): '
                          f'choose another --work-dir')
