"""The Method interface a search drives, and its registry lookup (the methods themselves live
in :mod:`colt_det.methods`).

A method is a class registered in :data:`colt_det.registry.METHODS` under the name
``colt.method`` takes::

    @METHODS.register_module('mymethod')
    class MyMethod(Method):
        def find_mask(self, ctx, stages, rounds):
            ...
            return path_of_a_ticket

It owns its settings check (:meth:`Method.check`) and says what it supports, so the settings
name no method.
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

    def check(self, s) -> None:
        """Raise ValueError for settings ``s`` the method cannot run with."""

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
        """Extra :class:`~colt_det.search.stage.Stage` options of the final stage."""
        return {}


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
