"""Where a search keeps its files: the one place that knows the work-dir layout.

::

    work_dir/
      colt_settings.json                  the settings the search started with (written first)
      theta_init.safetensors              the seeded initialisation
      theta0.safetensors                  the rewind point (= theta_init unless rewind_iter > 0)
      rewind/                             late rewinding: the dense stage that finds theta0
      rounds/round_01/part_0/ ...         partition 0 of round 1: checkpoints, mask, result.json
      tickets/round_01.safetensors        the round's ticket: intersection of its partition masks
      tickets/{init,random,oneshot}.safetensors   the starting mask of other methods
      final/                              the final ticket trained on all classes
      tickets/final.safetensors           final mask + theta0 + trained values
      final_masked.pth                    mask-applied checkpoint (mmdet/mmengine tools load it)
      colt_summary.json, metric_vs_sparsity.png   rounds, sparsity, metrics, seconds
"""
import contextlib
import glob
import json
import os
import os.path as osp

from .errors import SearchError


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

    def stage_done(self, r: int, i: int) -> bool:
        """A partition stage is done once its mask exists and its result has the wall time.

        The hook writes the mask, then the result with the time, so another partition job never
        reads a half-finished stage.
        """
        sdir = self.stage(r, i)
        return (osp.exists(osp.join(sdir, 'mask.safetensors'))
                and 'seconds' in read_json(osp.join(sdir, 'result.json')))

    def started(self) -> bool:
        """Whether a search has written its first files here."""
        return any(osp.exists(p) for p in (self.settings, self.theta0, self.theta_init))

    def remove_temp_files(self) -> None:
        """Temp files of writes a crash interrupted (finished writes were renamed in place)."""
        for d, _, files in os.walk(self.root):
            for f in files:
                if f.startswith('.tmp.'):
                    os.remove(osp.join(d, f))

    def __repr__(self) -> str:
        return f'WorkDir({self.root!r})'


def read_json(path: str) -> dict:
    """The JSON object in ``path``; ``{}`` if there is no such file yet."""
    if not osp.exists(path):
        return {}
    with open(path) as f:
        return json.load(f)


def remove_checkpoints(stage_dir: str) -> None:
    """Drop a finished stage's checkpoints (its mask and result are all later stages need)."""
    for f in glob.glob(osp.join(stage_dir, '*.pth')) + [osp.join(stage_dir, 'last_checkpoint')]:
        with contextlib.suppress(FileNotFoundError):  # another job may have removed it first
            os.remove(f)


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
