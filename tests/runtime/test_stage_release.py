"""Stages end cleanly: with persistent dataloader workers no stage stalls, and no worker process
or open log file of a finished stage outlives it (issue: stages stalled or hung on GPUs)."""
import os
import os.path as osp
import statistics
import time

from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from conftest import child_processes, cls_config

PROBES = []


def _children() -> list:
    """This process's children (zombies too) that were not there when the test began
    (``BEFORE``, set by :func:`wait_for_earlier_children`)."""
    return sorted(set(child_processes()) - BEFORE)


BEFORE: set = set()


def wait_for_earlier_children(seconds: float = 15) -> None:
    """Give the workers of earlier tests' loaders ``seconds`` to exit, then count from here:
    what is still alive was started before this test (the suite names its test at the end)."""
    global BEFORE
    BEFORE = set()
    deadline = time.time() + seconds
    while child_processes() and time.time() < deadline:
        time.sleep(0.5)
    BEFORE = set(child_processes())


def _open_files_under(root: str) -> list:
    out = []
    for fd in os.listdir('/proc/self/fd'):
        try:
            target = os.readlink(f'/proc/self/fd/{fd}')
        except OSError:
            continue
        # the work dir's lock files are held by design for the whole run (WorkDir.lock)
        if target.startswith(root) and not osp.basename(target).startswith('.lock'):
            out.append(target)
    return out


@HOOKS.register_module(force=True)
class LeakProbe(Hook):
    """Before a stage trains: what is left of the stages before it."""

    def __init__(self, search_dir: str) -> None:
        self.search_dir = search_dir

    def before_train(self, runner) -> None:
        own = osp.abspath(runner.work_dir)
        PROBES.append(dict(stage=own, children=_children(),
                           files=[f for f in _open_files_under(self.search_dir)
                                  if not f.startswith(own)]))


def test_persistent_workers_released_and_no_stage_stalls(cls_data, tmp_path):
    from colt_det.search import ColtSearch
    work = str(tmp_path / 'w')
    cfg = cls_config(cls_data, work, prune_ratio=0.3, target_sparsity=0.8, max_rounds=3)
    # 4 epochs: each epoch re-uses the persistent workers, and one-off start-up costs of the
    # first stage stay small next to the stage itself
    cfg.train_cfg = dict(by_epoch=True, max_epochs=4, val_interval=2)
    for key in ('train_dataloader', 'val_dataloader'):
        cfg[key].num_workers = 2
        cfg[key].persistent_workers = True
    cfg.custom_hooks = [dict(type='LeakProbe', search_dir=work)]
    PROBES.clear()
    wait_for_earlier_children()
    summary = ColtSearch(cfg).run()

    assert len(summary['rounds']) == 3 and len(PROBES) == 3 * 2 + 1
    for probe in PROBES:
        assert probe['children'] == [], f"worker processes alive before {probe['stage']}"
        assert probe['files'] == [], f"files of earlier stages open: {probe['files']}"
    assert _children() == [] and _open_files_under(work) == []
    # identical work per partition stage (5 classes, same epochs): none may stall
    seconds = [p['seconds'] for r in summary['rounds'] for p in r['partitions']]
    median = statistics.median(seconds)
    assert max(seconds) <= 3 * median, seconds
