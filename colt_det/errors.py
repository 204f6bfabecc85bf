"""Every user-facing error of colt_det: the message names the problem and the fix.

The tools' error boundary (:func:`colt_det.cli.guarded`) prints these as one ``error:`` line
and exits 1; anything else is a bug and keeps its traceback.
"""
from .core.ticket import TicketError


class SearchError(RuntimeError):
    """A search that cannot start or go on; the message says how to fix it."""


class NonFiniteLossError(RuntimeError):
    """The loss became NaN/inf during a stage; the stage is stopped, earlier tickets are kept."""


class PartitionJobError(RuntimeError):
    """A partition process failed; the message names its log file."""


__all__ = ['NonFiniteLossError', 'PartitionJobError', 'SearchError', 'TicketError']
