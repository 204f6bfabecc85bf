"""Where a search keeps its files: the one place that knows the work-dir layout.

::

    work_dir/
      colt_settings.json                  the settings the search started with (written first)
      theta_init.safetensors              the seeded initialisation
      theta0.safetensors                  the rewind point (= theta_init unless rewind_iter > 0)
      rewind/                             late rewinding: the dense stage that finds theta0
      rounds/round_01/part_0/ ...         partition 0 of round 1: checkpoints, mask, result.json
      tickets/round_01.safetensors        the round's ticket: intersection of its partition masks
      tickets/{init,random,oneshot,mask,gmp}.safetensors   the starting mask of other methods
      gmp/                                method='gmp' with rewind=True: the GMP training
      final/                              the final ticket trained on all classes
      tickets/final.safetensors           final mask + theta0 + trained values
      final_masked.pth                    mask-applied checkpoint (mmdet/mmengine tools load it)
      colt_summary.json, metric_vs_sparsity.png   rounds, sparsity, metrics, seconds
      .lock, .lock.part_<i>               held by the process(es) running the search
"""
import contextlib
import errno
import fcntl
import glob
import os
import os.path as osp
import re
from typing import Iterator, Optional

from ..errors import SearchError
from ..runtime.records import StageRecord

# the files MMEngine's CheckpointHook writes into a stage folder (and nothing else is removed)
_CHECKPOINT = re.compile(r'^(epoch|iter)_\d+\.pth$')
# folders of the layout that colt_det writes and deletes in: never followed through a link
_SUBFOLDERS = ('rounds', 'tickets', 'final', 'rewind', 'gmp', 'logs')


class WorkDir:
    """The paths of a search's work dir (nothing is created by looking at them).

    Args:
        root (str): the work dir (``cfg.work_dir``).
    """

    def __init__(self, root: str) -> None:
        self.root = osp.abspath(root)
        self.settings = self.path('colt_settings.json')
        self.theta_init = self.path('theta_init.safetensors')
        self.theta0 = self.path('theta0.safetensors')
        self.rewind_stage = self.path('rewind')
        self.gmp_stage = self.path('gmp')
        self.final_stage = self.path('final')
        self.final_ticket = self.ticket('final')
        self.final_masked = self.path('final_masked.pth')
        self.summary = self.path('colt_summary.json')
        self.plot = self.path('metric_vs_sparsity.png')
        self.transfer_report = self.path('transfer_report.json')
        self.search_config = self.path('search_config.py')
        self.logs = self.path('logs')

    def path(self, *parts: str) -> str:
        return osp.join(self.root, *parts)

    def ticket(self, name: str) -> str:
        """``tickets/<name>.safetensors`` (``init``, ``random``, ``oneshot``, ``final``)."""
        return self.path('tickets', f'{name}.safetensors')

    def round_ticket(self, r: int) -> str:
        return self.ticket(f'round_{r:02d}')

    def round_tickets(self) -> list:
        return sorted(glob.glob(self.ticket('round_*')))

    def stage(self, r: int, i: int) -> str:
        """The folder of partition ``i`` of round ``r``."""
        return self.path('rounds', f'round_{r:02d}', f'part_{i}')

    @staticmethod
    def stage_mask(stage_dir: str) -> str:
        """The mask a pruning stage writes (its hook is the only writer)."""
        return osp.join(stage_dir, 'mask.safetensors')

    @staticmethod
    def stage_latency_table(stage_dir: str) -> str:
        """The latency table a latency-aware progressive stage measured (its hook writes it
        once; ``colt.progressive.latency_table`` reuses it)."""
        return osp.join(stage_dir, 'latency_table.json')

    @staticmethod
    def stage_result(stage_dir: str) -> str:
        """The record a stage writes last: metrics, then ``seconds`` (the stage's commit)."""
        return osp.join(stage_dir, 'result.json')

    def stage_done(self, r: int, i: int) -> bool:
        """A partition stage is done once its mask exists and its result has the wall time.

        The hook writes the mask, then the result with the time, so another partition job never
        reads a half-finished stage.
        """
        sdir = self.stage(r, i)
        return (osp.exists(self.stage_mask(sdir))
                and StageRecord.read(self.stage_result(sdir)).done)

    def started(self) -> bool:
        """Whether a search has written its first files here."""
        return any(osp.exists(p) for p in (self.settings, self.theta0, self.theta_init))

    def check_no_links(self) -> None:
        """Refuse sub-folders that are symbolic links: a search deletes checkpoints and writes
        tickets inside its work dir only, never through a link into another folder."""
        for name in _SUBFOLDERS:
            if osp.islink(self.path(name)):
                raise SearchError(f'{self.path(name)} is a symbolic link: a search writes and '
                                  f'deletes files inside its work dir only; replace the link by '
                                  f'a folder (or point --work-dir at the real location)')
        for d in glob.glob(self.path('rounds', '*')) + glob.glob(self.path('rounds', '*', '*')):
            if osp.islink(d):
                raise SearchError(f'{d} is a symbolic link: replace it by a folder')

    def remove_temp_files(self, partition: Optional[int] = None) -> None:
        """Temp files of writes a kill interrupted (finished writes were renamed in place).

        Called with the work dir locked: a whole-search run (``partition=None``) removes them
        all, since no other writer can be running; a partition job only those in its own stage
        folders (other jobs may be writing elsewhere at that moment).
        """
        if partition is None:
            folders = (d for d, _, _ in os.walk(self.root))
        else:
            folders = glob.glob(self.path('rounds', 'round_*', f'part_{partition}'))
        for d in folders:
            for f in glob.glob(osp.join(d, '.tmp.*')):
                with contextlib.suppress(FileNotFoundError):
                    os.remove(f)

    @contextlib.contextmanager
    def lock(self, partition: Optional[int] = None, writer: bool = True) -> Iterator[None]:
        """Hold the work dir for this process: one whole-search run, or partition jobs of
        different partitions, never both (``fcntl.flock``; the OS releases it when a process
        dies, so a killed run never leaves it held). ``writer=False`` (the ranks of a DDP job
        other than rank 0, which write nothing) holds nothing.

        Raises:
            SearchError: another process holds the search (or this partition of it).
        """
        held = []
        if writer:
            os.makedirs(self.root, exist_ok=True)
        try:
            if not writer:
                pass
            elif partition is None:
                held.append(_flock(self.path('.lock'), fcntl.LOCK_EX,
                                   'another process is running this search'))
            else:
                held.append(_flock(self.path('.lock'), fcntl.LOCK_SH,
                                   'a whole-search run (not a partition job) holds it'))
                held.append(_flock(self.path(f'.lock.part_{partition}'), fcntl.LOCK_EX,
                                   f'another job runs partition {partition}'))
            yield
        finally:
            for fd in reversed(held):
                os.close(fd)

    def __repr__(self) -> str:
        return f'WorkDir({self.root!r})'


def _flock(path: str, mode: int, who: str) -> int:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, mode | fcntl.LOCK_NB)
    except OSError as e:
        os.close(fd)
        if e.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            raise SearchError(f'{osp.dirname(path)} is in use: {who}; wait for it to end (or '
                              f'stop it) before starting another run there') from None
        raise
    return fd


def remove_checkpoints(stage_dir: str) -> None:
    """Drop a finished stage's checkpoints (its mask and result are all later stages need).

    Only what MMEngine's CheckpointHook wrote is removed (``epoch_<n>.pth``, ``iter_<n>.pth``
    and ``last_checkpoint``): any other file in the folder is left alone.
    """
    if osp.islink(stage_dir) or not osp.isdir(stage_dir):
        return
    names = [f for f in os.listdir(stage_dir) if _CHECKPOINT.match(f)] + ['last_checkpoint']
    for f in names:
        with contextlib.suppress(FileNotFoundError):  # another job may have removed it first
            os.remove(osp.join(stage_dir, f))


def check_writable(work_dir: str) -> None:
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
