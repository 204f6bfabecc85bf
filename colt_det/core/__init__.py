"""The mask core: pure torch, no MMEngine. Masks are dicts ``param name -> bool tensor``."""
from . import data_scores  # noqa: F401  (registers the Taylor and Fisher scores)
from .apply import MaskEnforcer, apply_mask, check_mask_fits, rewind, state_of, unwrap
from .distributed import broadcast_mask, broadcast_state
from .io import atomic_write_bytes, atomic_write_json, read_json, update_json
from .masks import (
    Mask,
    PrunableSpec,
    intersect,
    is_subset,
    ones_mask,
    overlap_report,
    sparsity,
    vote,
)
from .partition import partition_classes
from .pruner import Pruner, model_weights
from .pruning import magnitude_prune, random_mask_like
from .ticket import (
    Ticket,
    TicketError,
    load_mask,
    load_ticket,
    read_ticket_meta,
    save_mask,
    save_ticket,
)

__all__ = [
    'Mask', 'PrunableSpec', 'MaskEnforcer', 'Pruner', 'model_weights', 'Ticket', 'TicketError',
    'apply_mask', 'atomic_write_bytes', 'atomic_write_json', 'broadcast_mask',
    'broadcast_state', 'check_mask_fits', 'intersect', 'is_subset', 'load_mask', 'load_ticket',
    'magnitude_prune', 'ones_mask', 'overlap_report', 'partition_classes', 'random_mask_like',
    'read_json', 'read_ticket_meta', 'rewind', 'save_mask', 'save_ticket', 'sparsity',
    'state_of', 'unwrap', 'update_json', 'vote'
]
