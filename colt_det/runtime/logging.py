"""Progress lines of a search through MMEngine's logger.

One :class:`~mmengine.logging.MMLogger` named ``colt`` prints ``[colt] <message>`` on rank 0
(the lines the parallel-partition launcher relays and the README shows). Stage Runners keep
their own MMEngine loggers and log files.
"""
import logging
import sys

from mmengine.dist import is_main_process
from mmengine.logging import MMLogger

NAME = 'colt'


class _CurrentStdout(logging.StreamHandler):
    """Writes to whatever ``sys.stdout`` is at the time (tools and test runners swap it)."""

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stdout
        super().emit(record)


def colt_logger() -> MMLogger:
    """The ``colt`` MMLogger (created on first use)."""
    if MMLogger.check_instance_created(NAME):
        return MMLogger.get_instance(NAME)
    MMLogger.get_current_instance()  # MMEngine's default logger exists before ours
    logger = MMLogger.get_instance(NAME, logger_name=NAME, log_level='INFO')
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    handler = _CurrentStdout()
    handler.setFormatter(logging.Formatter('[colt] %(message)s'))
    handler.addFilter(lambda record: is_main_process())  # rank 0 only, also after DDP starts
    logger.addHandler(handler)
    logger.propagate = False
    # MMEngine's print_log(logger='current') writes to the newest MMLogger: keep that one of
    # MMEngine's, so its messages never come out as [colt] lines
    instances = MMLogger._instance_dict
    instances.update({k: instances.pop(k) for k in list(instances) if k != NAME})
    return logger


def progress(msg: str) -> None:
    """One ``[colt]`` progress line (rank 0)."""
    colt_logger().info(msg)


def train_command() -> str:
    """How the user started training, for messages that tell them what to run next:
    ``colt-train`` when that is the command running, else the checkout's tool."""
    import os.path as osp
    return 'colt-train' if osp.basename(sys.argv[0] or '') == 'colt-train' else \
        'python tools/train.py'
