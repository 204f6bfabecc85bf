"""SearchContext: everything a search knows once its pre-flight checks passed, frozen.

The pre-flight (:func:`colt_det.search.startup.preflight`) builds it; methods, the round loop,
the final stage and the summary read it. Nothing writes to it, so what a method may use is
exactly its fields, and no step depends on another having set an attribute first.
"""
from dataclasses import dataclass, field
from typing import List, Optional

from mmengine.config import Config

from ..core import Mask
from ..tasks.base import Task
from ..version import __version__
from .settings import ColtSettings
from .workdir import WorkDir


@dataclass(frozen=True)
class Sources:
    """The files the settings name, read and checked once by the pre-flight.

    Args:
        random (Mask, optional): ``random_from``'s masks (method ``'random'``).
        mask (Mask, optional): ``mask_from``'s masks (method ``'mask'``).
        init_ticket (tuple, optional): ``init_ticket`` mapped onto the model: (ticket, transfer
            report, mask over the prunable weights, coverage), see
            :func:`colt_det.search.theta0.map_init_ticket`.
    """

    random: Optional[Mask] = None
    mask: Optional[Mask] = None
    init_ticket: Optional[tuple] = None


@dataclass(frozen=True)
class SearchContext:
    """One search: its config, settings, files, task, classes and what it prunes.

    Args:
        cfg (Config): the full MMEngine config (the ``colt`` block included).
        settings (ColtSettings): the parsed ``colt`` block.
        work (WorkDir): the work dir's paths.
        task (Task): the task (classification, detection, ...).
        classes (List[str]): the dataset's classes, in label order.
        groups (List[List[str]]): the partitions' classes (one group for IMP and the others).
        prunable (List[str]): the parameter names the masks cover.
        sources (Sources): the tickets the settings name.
        partition (int, optional): this process runs only this partition (a partition job).
        resume (bool): continue the search in the work dir.
        wait_interval (float): seconds between looks at other partition jobs' files.
        wait_timeout (float, optional): give up waiting for them after this many seconds.
    """

    cfg: Config
    settings: ColtSettings
    work: WorkDir
    task: Task
    classes: List[str]
    groups: List[List[str]]
    prunable: List[str]
    sources: Sources = field(default_factory=Sources)
    partition: Optional[int] = None
    resume: bool = False
    wait_interval: float = 2.0
    wait_timeout: Optional[float] = None

    @property
    def metric_key(self) -> str:
        return self.settings.metric_key or self.task.metric_key

    def meta(self, **extra) -> dict:
        """Ticket metadata: what was searched, how, and with which toolkit version."""
        s = self.settings
        return dict(arch=self.task.arch_name(self.cfg), dataset=self.task.dataset_name(self.cfg),
                    classes=list(self.classes), method=s.method,
                    partition_scheme=s.partition_scheme, partitions=self.groups,
                    num_partitions=len(self.groups), prune_ratio=s.prune_ratio,
                    prune_scope=s.prune_scope, granularity=s.granularity,
                    **({'channel_groups': s.channel_groups} if s.granularity == 'channel'
                       else {}), seed=s.seed,
                    toolkit_version=__version__, **extra)

    def summary(self, rounds: List[dict], final: Optional[dict]) -> dict:
        """The search's ``colt_summary.json``."""
        s = self.settings
        return dict(method=s.method, num_partitions=len(self.groups), prune_ratio=s.prune_ratio,
                    target_sparsity=s.target_sparsity, metric_key=self.metric_key,
                    settings=s.record(), rounds=rounds, final=final)
