"""The life of a stage's Runner: a config it can dump cheaply, the checkpoint an unfinished stage
resumes from, and shutting everything down when the stage ends.

A search runs many Runners in one process. MMEngine keeps each Runner's logger, message hub and
visualizer in global per-name registries, and a DataLoader with ``persistent_workers=True`` keeps
its worker processes until the loader is garbage-collected. Left alone, every finished stage
leaves an open log file and live worker processes behind; forking the next stage's workers from
a process that still runs the old loaders' queue threads is what made stages stall or hang.
:func:`release_runner` shuts all of that down as soon as a stage ends.
"""
import gc
import glob
import logging
import os.path as osp
from typing import Optional

from torch.utils.data import DataLoader


def build_quiet_runner(cfg):
    """``Runner.from_cfg(cfg)`` whose log file gets ``cfg.log_level`` and console only warnings.

    A search runs many Runners: their environment reports, config dumps and training logs go to
    each stage's MMEngine log file (``<stage>/<timestamp>/<timestamp>.log``), while the console
    shows the search's ``[colt]`` progress lines.
    """
    from mmengine.runner import Runner
    level = cfg.get('log_level', 'INFO')
    cfg.log_level = 'WARNING'  # the Runner's set-up logs (console and file)
    runner = Runner.from_cfg(cfg)
    for handler in runner.logger.handlers:
        if isinstance(handler, logging.FileHandler):
            handler.setLevel(level)  # from here on: training/validation logs in the file
        else:
            handler.addFilter(_not_internal_notice)
    return runner


def _not_internal_notice(record: logging.LogRecord) -> bool:
    """MMEngine's own hooks use its deprecated FileClient/HardDiskBackend and warn about it at
    every stage; nothing a user can act on, so it stays in the log file only."""
    return 'will be deprecated in future' not in record.getMessage()


def release_runner(runner) -> None:
    """Stop the runner's dataloader workers, close its log files, drop its global instances."""
    from mmengine.logging import MessageHub, MMLogger
    from mmengine.visualization import Visualizer

    # the loops build and hold the DataLoaders (runner._*_dataloader stay the config dicts)
    for name in ('_train_loop', '_val_loop', '_test_loop'):
        loader = getattr(getattr(runner, name, None), 'dataloader', None)
        if isinstance(loader, DataLoader):
            shutdown_workers(loader)
    name = runner.experiment_name
    visualizer = Visualizer._instance_dict.pop(name, None)
    if visualizer is not None:
        visualizer.close()
    MessageHub._instance_dict.pop(name, None)
    logger = MMLogger._instance_dict.pop(name, None)
    if logger is not None:
        for handler in list(logger.handlers):
            handler.close()
            logger.removeHandler(handler)
    gc.collect()  # Runner <-> hooks cycles: free the model and optimizer state now


def shutdown_workers(loader: DataLoader) -> None:
    """End a loader's (persistent) worker processes now instead of at garbage collection."""
    iterator = getattr(loader, '_iterator', None)
    if iterator is not None and hasattr(iterator, '_shutdown_workers'):
        iterator._shutdown_workers()
        # torch terminates a worker that does not exit in time without waiting for it: reap
        # it, so no (zombie) worker of a finished stage is left on a busy machine
        for w in getattr(iterator, '_workers', []):
            w.join(timeout=30)
    loader._iterator = None


def stage_checkpoint(stage_dir: str) -> Optional[str]:
    """The checkpoint an unfinished stage resumes from, inside ``stage_dir`` (None: fresh stage).

    MMEngine's ``last_checkpoint`` holds an absolute path. Only its file name is used, so a moved
    or copied work dir resumes from its own files and a checkpoint outside it is never loaded.
    MMEngine writes the marker (not atomically) right after a complete checkpoint, so an empty
    marker (killed while writing it) means the newest checkpoint of the stage.
    """
    marker = osp.join(stage_dir, 'last_checkpoint')
    if not osp.exists(marker):
        return None
    with open(marker) as f:
        name = osp.basename(f.read().strip())
    if not name:
        saved = sorted(glob.glob(osp.join(stage_dir, '*.pth')), key=osp.getmtime)
        return saved[-1] if saved else None
    path = osp.join(stage_dir, name)
    if not osp.isfile(path):
        raise FileNotFoundError(f'{marker} names {name!r}, which is not in {stage_dir}: '
                                f'delete {marker} to restart this stage')
    return path


def without_code_formatting(cfg):
    """``cfg`` whose text form skips yapf; returns ``cfg``.

    MMEngine formats the whole config with yapf whenever it dumps it: once per Runner and again
    inside every checkpoint's meta, ~1.3 s each on a 2-core CPU, paid by every stage of a
    search. The unformatted text is the same valid Python config, only less pretty.
    """
    object.__setattr__(cfg, '_format_python_code', False)
    return cfg
