"""StageRecordHook: a stage's record (``result.json``) and its progress lines."""
import os.path as osp
import time
from typing import Dict, Optional

import torch
from mmengine.hooks import Hook
from mmengine.runner import EpochBasedTrainLoop

from ..core import sparsity
from ..core.apply import unwrap
from ..registry import HOOKS
from ..runtime.checkpoints import save_state
from ..runtime.logging import progress
from ..runtime.records import write_stage_record
from .mask_convergence_hook import INFO_KEY as EARLY_STOP
from .mask_hook import mask_hook_of

_STATE = 'colt_stage_seconds'  # training time before the checkpoint (a resumed stage adds on)


@HOOKS.register_module()
class StageRecordHook(Hook):
    """Writes what a stage did to ``out_result``: the metrics of every validation and test as
    they come, then, once training ended, the stage's ``sparsity``, ``iters``, ``seconds``,
    ``train_samples`` (images over all ranks), ``partition_stats`` and ``early_stop``. A stage
    is complete once the file holds ``seconds``: the hook is its only writer and writes it
    last (after the mask and, for late rewinding, the ``out_state`` theta0).

    ``seconds`` is the training time of the stage, the runs before a kill included (it is kept
    in the stage's checkpoints), from when its Runner started being built.

    The recorded sparsity is the stage's mask's (its :class:`~.mask_hook.ColtMaskHook`'s).

    Args:
        out_result (str): the record (``result.json``).
        out_state (str, optional): write the trained state here (late rewinding: theta0).
        progress_interval (int): print ``iter i/n, loss, ETA`` every this many iterations
            (0: never).
        stage_name (str): how progress lines name the stage.
        started_at (float, optional): ``time.time()`` when the stage's Runner started being
            built (set by the stage runner); default: when the run starts.
    """

    priority = 'LOW'  # after the mask and pruning hooks: the record is the stage's last file

    def __init__(self, out_result: Optional[str] = None, out_state: Optional[str] = None,
                 progress_interval: int = 0, stage_name: str = 'stage',
                 started_at: Optional[float] = None) -> None:
        self.out_result = out_result
        self.out_state = out_state
        self.progress_interval = progress_interval
        self.stage_name = stage_name
        self.started_at = started_at
        self.before = 0.0  # training seconds of earlier runs of this stage
        self._t_start = None
        self._iter_start = 0

    def before_run(self, runner) -> None:
        if self.started_at is None:
            self.started_at = time.time()

    def before_train(self, runner) -> None:
        self._t_start, self._iter_start = time.time(), runner.iter

    def _elapsed(self) -> float:
        return self.before + time.time() - self.started_at

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint[_STATE] = self._elapsed()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self.before = float(checkpoint.get(_STATE, 0.0))

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        done = runner.iter + 1
        if (self.progress_interval and runner.rank == 0
                and (done % self.progress_interval == 0 or done == runner.max_iters)):
            rate = (time.time() - self._t_start) / max(done - self._iter_start, 1)
            loss = outputs.get('loss') if outputs else None
            loss_txt = f', loss {float(loss.detach()):.3f}' if isinstance(
                loss, torch.Tensor) else ''
            progress(f'  {self.stage_name}: iter {done}/{runner.max_iters}{loss_txt}, '
                     f'{rate:.2f} s/iter, stage ETA {rate * (runner.max_iters - done):.0f} s')

    def after_val_epoch(self, runner, metrics: Optional[Dict[str, float]] = None) -> None:
        self._write(runner, metrics=_floats(metrics or {}))  # kept if the stage is killed later

    def after_test_epoch(self, runner, metrics: Optional[Dict[str, float]] = None) -> None:
        self._write(runner, test_metrics=_floats(metrics or {}))

    def after_train(self, runner) -> None:
        if self.out_state and runner.rank == 0 and not osp.exists(self.out_state):
            save_state(self.out_state, unwrap(runner.model))
        stats = getattr(runner.train_dataloader.dataset, 'stats', None)
        early = runner.message_hub.get_info(EARLY_STOP)
        mask, _ = mask_hook_of(runner, 'colt_det.StageRecordHook').stage(runner)
        self._write(runner, sparsity=sparsity(mask).overall, iters=runner.iter,
                    **({'partition_stats': stats} if stats else {}),
                    **({'early_stop': early} if early else {}),
                    train_samples=samples_seen(runner), seconds=self._elapsed())

    def _write(self, runner, **values) -> None:
        if self.out_result and runner.rank == 0:
            values = {k: v for k, v in values.items() if v != {}}  # a run without validation
            write_stage_record(self.out_result, **values)


def samples_seen(runner) -> int:
    """Training images the stage processed over all ranks (the training budget spent)."""
    loader = runner.train_dataloader
    batch = loader.batch_size or loader.batch_sampler.batch_size  # (AspectRatio)BatchSampler
    if isinstance(runner.train_loop, EpochBasedTrainLoop):
        # whole epochs draw the sampler's images (a BudgetSampler's share too); an epoch a hook
        # stopped early (MaskConvergenceHook) its iterations' batches
        sampler = getattr(loader.batch_sampler, 'sampler', loader.sampler)
        epochs, rest = divmod(runner.iter, len(loader))
        return (len(sampler) * epochs + rest * batch) * runner.world_size
    return runner.iter * batch * runner.world_size


def _floats(metrics: dict) -> dict:
    out = {}
    for k, v in metrics.items():
        try:
            out[k] = float(v)
        except (TypeError, ValueError):
            continue
    return out
