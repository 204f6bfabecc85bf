"""colt_det: Cyclic Overlapping Lottery Tickets on MMEngine / MMDetection.

Importing the package registers its hooks, datasets, models and metrics in MMEngine's registries.
"""
from .version import __version__
from . import cls, det, engine  # noqa: F401,E402  (registration side effects)

__all__ = ['__version__']
