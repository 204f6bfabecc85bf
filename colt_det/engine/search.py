"""The COLT / IMP / random-ticket search, driven stage by stage through MMEngine Runners.

A search is a sequence of *stages*, each one ordinary MMEngine training run in its own folder of
the work dir (:mod:`colt_det.engine.workdir` draws the layout). Progress lives in those files
only, so ``resume`` skips finished stages and lets MMEngine resume an unfinished one from its
last checkpoint; no ticket is ever overwritten. COLT is N >= 2 partitions; IMP is the same loop
with N = 1 on all classes; the other methods (:mod:`colt_det.engine.methods`) find their mask
without rounds.

Scale-out uses the same files. Under torch.distributed every rank runs every stage (MMEngine
DDP) and only rank 0 writes, with a barrier after each write. With ``partition=i`` a process
(or a whole DDP job) runs only partition i of every round (:mod:`colt_det.engine.coordination`).
"""
import os.path as osp
from typing import List, Optional

from mmengine.config import Config
from mmengine.dist import is_main_process

from ..core import partition_classes
from ..report import write_summary
from ..version import __version__
from .errors import SearchError
from .final import train_final
from .lifecycle import stage_checkpoint
from .methods import METHODS
from .progress import progress
from .rounds import run_rounds
from .safe_load import allow_checkpoint_types
from .settings import ColtSettings
from .stage import Stage, stage_cfg, train_stage
from .startup import check_partition_job, open_work_dir, preflight, record_settings
from .tasks import get_task
from .theta0 import make_theta0
from .workdir import WorkDir, read_json

__all__ = ['ColtSearch', 'SearchError']


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
        self.method = METHODS[self.s.method]
        self.task = get_task(self.s.task, self.s.partition_policy)
        self.work = WorkDir(cfg.work_dir)
        self.resume = resume
        self.partition = partition
        self.wait_interval = wait_interval
        self.wait_timeout = wait_timeout
        self.metric_key = self.s.metric_key or self.task.metric_key
        # set by prepare(): the classes on disk, their partitions, the prunable weights
        self.classes: List[str] = []
        self.groups: List[List[str]] = []
        self.prunable: List[str] = []
        self.random_source = self.mask_source = self.init_ticket = None

    def prepare(self) -> None:
        """Check everything, then write the settings record and theta0, in that order."""
        allow_checkpoint_types()  # resuming stages loads MMEngine checkpoints
        if self.partition is not None:
            check_partition_job(self)
        self.classes = self.task.class_names(self.cfg)
        self.groups = partition_classes(self.classes, self.s.num_groups,
                                        self.s.partition_scheme, self.s.seed,
                                        self.s.partition_groups)
        preflight(self)
        open_work_dir(self)
        record_settings(self)
        make_theta0(self)

    def run(self) -> dict:
        """Run (or resume) the whole search; returns the summary dict."""
        self.prepare()
        self.progress(f'{self.s.method.upper()} search: {len(self.groups)} partition(s) '
                      f'{[len(g) for g in self.groups]} classes, p={self.s.prune_ratio}, '
                      f'target sparsity {self.s.target_sparsity:.0%}, work dir {self.work.root}'
                      + ('' if self.partition is None else
                         f', this job: partition {self.partition}'))
        rounds: List[dict] = []
        if self.partition is not None:  # a partition job: its rounds only
            run_rounds(self, rounds)
            self.progress(f'partition {self.partition} finished its rounds; train the final '
                          f'ticket with: tools/train.py CONFIG --work-dir {self.work.root} '
                          f'--resume')
            return self.summary(rounds, None)
        mask = self.method.find_mask(self, rounds)
        final = train_final(self, mask) if self.s.final_train else None
        self.write_summary(rounds, final)
        return self.summary(rounds, final)

    def run_stage(self, stage: Stage, then=None) -> None:
        """Train one stage (``then(runner)`` after training, before the runner is released)."""
        if stage_checkpoint(stage.dir):
            self.progress(f'resuming unfinished stage {stage.dir}')
        train_stage(stage_cfg(self.cfg, self.s, self.work, self.task, self.classes, stage),
                    then)
        result = read_json(osp.join(stage.dir, 'result.json'))
        stats = result.get('partition_stats') if stage.group else None
        if stats:
            self.progress(f"  partition data: {stats['images']} images, {stats['objects']} "
                          f"objects of {len(stats['classes'])} classes ({stats['policy']})")

    def meta(self, **extra) -> dict:
        """Ticket metadata: what was searched, how, and with which toolkit version."""
        s = self.s
        return dict(arch=self.task.arch_name(self.cfg), dataset=self.task.dataset_name(self.cfg),
                    classes=list(self.classes), method=s.method,
                    partition_scheme=s.partition_scheme, partitions=self.groups,
                    num_partitions=len(self.groups), prune_ratio=s.prune_ratio,
                    prune_scope=s.prune_scope, granularity=s.granularity, seed=s.seed,
                    toolkit_version=__version__, **extra)

    def summary(self, rounds: List[dict], final: Optional[dict]) -> dict:
        s = self.s
        return dict(method=s.method, num_partitions=len(self.groups), prune_ratio=s.prune_ratio,
                    target_sparsity=s.target_sparsity, metric_key=self.metric_key,
                    settings=s.record(), rounds=rounds, final=final)

    def write_summary(self, rounds: List[dict], final: Optional[dict]) -> None:
        if is_main_process():
            write_summary(self.summary(rounds, final), self.work.summary, self.work.plot,
                          title=f'{self.s.method.upper()} {self.task.dataset_name(self.cfg)}')

    def progress(self, msg: str) -> None:
        progress(msg)

