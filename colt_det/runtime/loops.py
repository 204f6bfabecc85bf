"""A training loop a hook can stop in the middle of an epoch."""
from mmengine.runner import EpochBasedTrainLoop

from ..registry import LOOPS


@LOOPS.register_module()
class StoppableEpochBasedTrainLoop(EpochBasedTrainLoop):
    """MMEngine's epoch loop, ending the running epoch as soon as ``stop_training`` is set.

    MMEngine's own loop looks at ``stop_training`` (what its ``EarlyStoppingHook`` sets) only
    between epochs; a round stage that stops once its mask has converged
    (:class:`~colt_det.hooks.mask_convergence_hook.MaskConvergenceHook`) ends right after the
    check. The epoch still closes normally (``after_train_epoch``: the checkpoint), so a resumed
    stage sees where it stopped.
    """

    def run_epoch(self) -> None:
        self.runner.call_hook('before_train_epoch')
        self.runner.model.train()
        for idx, data_batch in enumerate(self.dataloader):
            self.run_iter(idx, data_batch)
            if self.stop_training:
                break
        self.runner.call_hook('after_train_epoch')
        self._epoch += 1
