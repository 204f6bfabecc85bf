"""The Method interface a search drives, and its registry lookup (the methods themselves live
in :mod:`colt_det.methods`).

A method is a class registered in :data:`colt_det.registry.METHODS` under the name
``colt.method`` takes::

    @METHODS.register_module('mymethod')
    class MyMethod(Method):
        def find_mask(self, ctx, stages, rounds):
            ...
            return path_of_a_ticket

It owns its settings check (:meth:`Method.check`), its own options block (``option``: e.g.
``colt.gmp``, with its ``defaults``) and the hooks it adds to the final stage
(:meth:`Method.final_stage`), and says what it supports, so neither the settings nor the
generic stage name a method.
"""
import os.path as osp
from typing import Callable, List, Optional

from mmengine.dist import barrier, is_main_process

from ..registry import METHODS


class Method:
    """How a search finds the mask the final stage trains.

    Attributes:
        rounds (bool): prunes in rounds of partition stages (partition jobs, ``early_stop``
            and raising ``target_sparsity`` on resume apply).
        supports_channels (bool): works with ``granularity='channel'``.
    """

    rounds = False
    supports_channels = False
    option: Optional[str] = None  # the name of the method's own block in ``colt``
    defaults: dict = {}  # that block's keys and default values

    def check(self, s) -> None:
        """Raise ValueError for settings ``s`` the method cannot run with (its own block
        included: :meth:`options` has every key with its default filled in)."""

    def options(self, s) -> dict:
        """The method's block of the settings ``s``, defaults filled in."""
        return dict(self.defaults, **(getattr(s, self.option, None) or {})) if self.option \
            else {}

    def num_groups(self, s) -> int:
        """Partitions per round (1 for all but COLT)."""
        return 1

    def find_mask(self, ctx, stages, rounds: List[dict]) -> Optional[str]:
        """The ticket (mask) file the final stage trains; None: the final stage starts dense.

        Args:
            ctx (SearchContext): the search.
            stages (StageRunner): trains stages (``stages.run(Stage(...))``).
            rounds (List[dict]): round-based methods append one record per round.
        """
        raise NotImplementedError

    def final_stage(self, ctx, mask: Optional[str]) -> dict:
        """Extra options of the final stage (:func:`~colt_det.search.final.train_final`):
        ``hooks`` (hook configs the method adds, run before the stage's own) and
        ``own_mask`` (the stage writes the ticket's mask itself: ``final/mask.safetensors``)."""
        return {}


def registered_methods() -> dict:
    """name -> a Method of every registered method."""
    METHODS.import_from_location()
    return {n: cls() for n, cls in METHODS.module_dict.items()}


def get_method(name: str) -> Method:
    """The registered method ``name`` (a ValueError names the registered ones)."""
    METHODS.import_from_location()
    cls = METHODS.module_dict.get(name)
    if cls is None:
        raise ValueError(f'colt.method must be one of {list(METHODS.module_dict)}, got '
                         f'{name!r}')
    return cls()


def write_once(path: str, write: Callable[[], None]) -> str:
    """Rank 0 runs ``write()`` unless ``path`` exists; every rank waits for it; returns path."""
    if is_main_process() and not osp.exists(path):
        write()
    barrier()
    return path
