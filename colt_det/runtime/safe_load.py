"""Make MMEngine's ``resume`` work under torch >= 2.6 without turning pickle back on.

torch 2.6 made ``torch.load(weights_only=True)`` the default. MMEngine 0.10.7 checkpoints hold a
few non-tensor objects (the message hub's ``HistoryBuffer``s, numpy arrays and scalars), so
resuming fails. We allow-list exactly those types with ``torch.serialization.add_safe_globals``.

A ``HistoryBuffer`` also pickles its statistics methods as ``getattr(HistoryBuffer, 'mean')``.
Allowing the builtin ``getattr`` would let a crafted checkpoint reach any attribute of any
allowed object, so the name ``builtins.getattr`` is bound to :func:`history_buffer_getattr`,
which resolves only those few methods and refuses everything else.
"""
import pickle

import numpy as np
import torch

_STAT_METHODS = ('min', 'max', 'current', 'mean')


def history_buffer_getattr(obj, name: str):
    """``getattr`` restricted to ``HistoryBuffer.{min,max,current,mean}``."""
    from mmengine.logging.history_buffer import HistoryBuffer

    if obj is HistoryBuffer and name in _STAT_METHODS:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(f'checkpoint asks for getattr({obj!r}, {name!r}), which is not '
                                 f'allow-listed: refusing to load it')


def _checkpoint_types() -> list:
    from mmengine.logging.history_buffer import HistoryBuffer

    types = [HistoryBuffer, np.ndarray, np.dtype, np.core.multiarray._reconstruct,
             np.core.multiarray.scalar, (history_buffer_getattr, 'builtins.getattr')]
    # numpy >= 1.25 pickles dtypes by their class (np.dtypes.Float64DType, ...)
    types += [type(np.dtype(t)) for t in ('float64', 'float32', 'int64', 'int32', 'bool')]
    return types


def allow_checkpoint_types() -> None:
    """Allow-list the types MMEngine/MMDetection checkpoints need (idempotent)."""
    torch.serialization.add_safe_globals(_checkpoint_types())
