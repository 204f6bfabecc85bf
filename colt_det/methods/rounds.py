"""COLT and IMP: masks found in rounds of partition stages (:mod:`colt_det.search.loop`)."""
from typing import List, Optional

from ..registry import METHODS
from ..search.loop import run_rounds
from ..search.method import Method


@METHODS.register_module('colt')
class Colt(Method):
    """COLT: N partitions per round; a weight survives if every partition keeps it."""

    rounds = True
    supports_channels = True

    def num_groups(self, s) -> int:
        return s.num_partitions

    def find_mask(self, ctx, stages, rounds: List[dict]) -> Optional[str]:
        return run_rounds(ctx, stages, rounds)


@METHODS.register_module('imp')
class Imp(Colt):
    """IMP (the lottery ticket hypothesis): the same loop with N = 1 on all classes."""

    def check(self, s) -> None:
        if s.num_partitions != 1:
            raise ValueError("colt.method='imp' needs num_partitions=1 (IMP trains on all data)")

    def num_groups(self, s) -> int:
        return 1
