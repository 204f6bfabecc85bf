"""colt_det: Cyclic Overlapping Lottery Tickets on MMEngine / MMDetection.

Importing the package has no side effects: the mask core (:mod:`colt_det.core`) needs torch
alone, and MMEngine imports the hooks, datasets, models and metrics the first time a config
names a ``colt_det`` type (see :mod:`colt_det.registry`).
"""
from .version import __version__

__all__ = ['__version__']
