"""EpochSeedHook: every epoch draws its randomness from ``seed + epoch``."""
from mmengine.hooks import Hook
from mmengine.runner import set_random_seed

from ..registry import HOOKS
from ..runtime.faults import crash_point


@HOOKS.register_module()
class EpochSeedHook(Hook):
    """Reseeds all RNGs with ``seed + epoch`` at every epoch start, so a stage resumed from an
    epoch checkpoint draws the same augmentations as an uninterrupted one (identical masks
    after a resume).

    Args:
        seed (int): the stage's seed.
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def before_train_epoch(self, runner) -> None:
        if runner.epoch > 0:
            crash_point('stage_epoch')  # tests: a kill after an epoch checkpoint
        set_random_seed(self.seed + runner.epoch)
