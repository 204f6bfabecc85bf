"""Make MMEngine's ``resume`` work under torch >= 2.6 without turning pickle back on.

torch 2.6 made ``torch.load(weights_only=True)`` the default; MMEngine 0.10.7 checkpoints hold a
few non-tensor objects (the message hub's history buffers, numpy scalars/arrays), so resuming
fails. We allow-list exactly those types with ``torch.serialization.add_safe_globals``; anything
else in a checkpoint is still refused.
"""
import numpy as np
import torch


def _checkpoint_types() -> list:
    from mmengine.logging.history_buffer import HistoryBuffer

    types = [HistoryBuffer, np.ndarray, np.dtype, np.core.multiarray._reconstruct,
             np.core.multiarray.scalar]
    # numpy >= 1.25 pickles dtypes by their class (np.dtypes.Float64DType, ...)
    types += [type(np.dtype(t)) for t in ('float64', 'float32', 'int64', 'int32', 'bool')]
    return types


def allow_checkpoint_types() -> None:
    """Allow-list the types MMEngine/MMDetection checkpoints need (idempotent)."""
    torch.serialization.add_safe_globals(_checkpoint_types())
