"""The COLT / IMP / random-ticket search, driven stage by stage through MMEngine Runners.

A search is a sequence of *stages*, each one ordinary MMEngine training run in its own folder of
the work dir (:mod:`colt_det.search.workdir` draws the layout). Progress lives in those files
only, so ``resume`` skips finished stages and lets MMEngine resume an unfinished one from its
last checkpoint; no ticket is ever overwritten. COLT is N >= 2 partitions; IMP is the same loop
with N = 1 on all classes; the other methods (:mod:`colt_det.methods`) find their mask without
rounds.

Scale-out uses the same files. Under torch.distributed every rank runs every stage (MMEngine
DDP) and only rank 0 writes, with a barrier after each write. With ``partition=i`` a process
(or a whole DDP job) runs only partition i of every round (:mod:`colt_det.search.coordination`).
"""
import os.path as osp
from typing import List, Optional

from mmengine.config import Config
from mmengine.dist import is_main_process

from ..errors import SearchError
from ..runtime.logging import progress, train_command
from ..runtime.safe_load import allow_checkpoint_types
from ..tasks.base import get_task
from .context import SearchContext
from .final import train_final
from .loop import run_rounds
from .method import get_method
from .settings import ColtSettings
from .stage import StageRunner
from .startup import open_work_dir, preflight, record_settings
from .summary import write_summary
from .theta0 import make_theta0
from .tracking import close_tracking, track_final
from .workdir import WorkDir


class ColtSearch:
    """Runs a COLT/IMP/random search described by an MMEngine config with a ``colt`` block.

    ``run()`` reads as the algorithm: check everything, start (settings record, theta0), let the
    method find the mask (:meth:`Method.find_mask`: the rounds of COLT/IMP, a baseline's single
    mask, ...), train it on all classes, write the summary.

    Args:
        cfg (Config): full MMEngine config (model, dataloaders, train_cfg, ...) + ``colt``.
        resume (bool): continue the search found in ``cfg.work_dir``.
        partition (int, optional): run only this partition of every round (a partition job;
            start-or-join: the work dir may already hold the search). The final training is
            left to a later ``resume`` run.
        wait_interval (float): seconds between checks for other partition jobs' files.
        wait_timeout (float, optional): give up waiting for other partition jobs after this
            many seconds (None: wait as long as it takes).
        allow_changed (bool): a resumed search accepts a changed model, data or schedule
            (recorded anew) instead of refusing it.
    """

    def __init__(self, cfg: Config, resume: bool = False, partition: Optional[int] = None,
                 wait_interval: float = 2.0, wait_timeout: Optional[float] = None,
                 allow_changed: bool = False) -> None:
        if 'colt' not in cfg:
            raise SearchError('config has no colt = dict(...) block: add one (see configs/)')
        self.cfg = cfg
        self.settings = ColtSettings.from_cfg(cfg.colt)
        self.method = get_method(self.settings.method)
        self.task = get_task(self.settings.task)
        self.work = WorkDir(cfg.work_dir)
        self.resume = resume
        self.partition = partition
        self.wait = (wait_interval, wait_timeout)
        self.allow_changed = allow_changed

    def check(self) -> SearchContext:
        """Every check that needs the data, the model or the named files; writes nothing."""
        allow_checkpoint_types()  # resuming stages loads MMEngine checkpoints
        return preflight(self.cfg, self.settings, self.task, self.work, self.partition,
                         self.resume, *self.wait)

    def start(self, ctx: SearchContext) -> StageRunner:
        """The settings record and theta0, in that order (the work dir locked)."""
        open_work_dir(ctx)
        record_settings(ctx, self.allow_changed)
        stages = StageRunner(ctx)
        make_theta0(ctx, stages)
        return stages

    def prepare(self) -> SearchContext:
        """Check, then start (e.g. before partition processes join the search)."""
        ctx = self.check()
        with self.work.lock(self.partition, writer=is_main_process()):
            self.start(ctx)
        return ctx

    def run(self) -> dict:
        """Run (or resume) the whole search; returns the summary dict."""
        ctx = self.check()
        with self.work.lock(self.partition, writer=is_main_process()):
            stages = self.start(ctx)
            try:
                return self._run(ctx, stages)
            finally:
                close_tracking(ctx)

    def _run(self, ctx: SearchContext, stages: StageRunner) -> dict:
        s = ctx.settings
        progress(f'{s.method.upper()} search: {len(ctx.groups)} partition(s) '
                 f'{[len(g) for g in ctx.groups]} classes, p={s.prune_ratio}, '
                 f'target sparsity {s.target_sparsity:.0%}, work dir {ctx.work.root}'
                 + ('' if ctx.partition is None else f', this job: partition {ctx.partition}'))
        rounds: List[dict] = []
        if ctx.partition is not None:  # a partition job: its rounds only
            run_rounds(ctx, stages, rounds)
            progress(f'partition {ctx.partition} finished its rounds; train the final ticket '
                     f'with: {train_command()} CONFIG --work-dir {ctx.work.root} --resume')
            return ctx.summary(rounds, None)
        mask = self.method.find_mask(ctx, stages, rounds)
        final = None
        if s.final_train:
            fresh = not osp.exists(ctx.work.final_ticket)
            final = train_final(ctx, stages, mask, **self.method.final_stage(ctx, mask))
            if fresh:
                track_final(ctx, final, step=len(rounds) + 1)
        write_summary(ctx, rounds, final)
        return ctx.summary(rounds, final)


__all__ = ['ColtSearch', 'SearchError']
