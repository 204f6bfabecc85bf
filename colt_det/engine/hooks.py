"""ColtHook: rewinds, masks and prunes the model of one COLT stage inside an MMEngine Runner."""
import math
import time
import os.path as osp
from typing import Dict, Optional

import torch
from mmengine.hooks import Hook
from mmengine.runner import EpochBasedTrainLoop

from ..core import (MaskEnforcer, PrunableSpec, apply_mask, broadcast_mask, broadcast_state,
                    load_mask, update_json, ones_mask, rewind, save_mask, sparsity)
from ..core.apply import unwrap
from ..core.channels import channel_prune
from ..core.pruning import prune_by_score
from ..core.scores import weight_score as get_weight_score
from ..registry import HOOKS
from .faults import crash_point
from .progress import progress
from .prunable import masked_params
from .state import load_state, save_state


class NonFiniteLossError(RuntimeError):
    """The loss became NaN/inf during a stage; the stage is stopped, earlier tickets are kept."""


@HOOKS.register_module()
class ColtHook(Hook):
    """Applies a COLT mask during one training stage and prunes at its end.

    At the start of a fresh stage (not a resumed one) the model is rewound to theta0 and the mask
    is applied; after every optimizer step pruned weights are set back to exactly zero; after
    training, ``prune_ratio`` of the remaining prunable weights are pruned by magnitude and the
    new mask is written to ``out_mask``. Validation metrics of the stage are written to
    ``out_result``.

    Under distributed training rank 0's mask and rewound weights are broadcast at the start, and
    the pruned mask is computed on rank 0 and broadcast at the end, so every rank holds the same
    mask; only rank 0 writes files.

    Args:
        prunable (dict): :class:`~colt_det.core.PrunableSpec` options (which weights are masked).
        mask (str, optional): mask file to train with; None means nothing pruned yet.
        theta0 (str, optional): safetensors state to rewind to before training.
        prune_ratio (float, optional): fraction to prune after training; None: do not prune.
        prune_scope (str): ``'global'`` or ``'layer'`` magnitude pruning.
        granularity (str): ``'weight'`` (unstructured, ``prunable`` selects the weights) or
            ``'channel'`` (inner channels of ``model.backbone``, see
            :mod:`colt_det.core.channels`).
        channel_score (str): channels: ``'l1'`` or ``'l1_bn'`` (see
            :func:`~colt_det.core.channels.channel_prune`).
        weight_score (str): weights: a registered score (:mod:`colt_det.core.scores`):
            ``'magnitude'`` (|w|) or ``'movement'`` (|w - theta0|, how far this stage's
            training moved the weight from the rewind point).
        min_density (float): every layer keeps at least this fraction of its weights when
            pruning (the layer-collapse guard; 0: off).
        out_mask (str, optional): where to write the pruned mask.
        out_result (str, optional): where to write the stage's record: ``metrics`` (last
            validation), ``test_metrics``, ``sparsity``, ``iters``, then ``seconds`` (wall time
            of the run that finished training), ``train_samples`` (images over all ranks) and
            ``partition_stats`` (what a partition dataset saw). A stage is complete once this
            file holds ``seconds``: the hook is its only writer, and writes it after the mask.
        out_state (str, optional): where to write the model state after training (late
            rewinding: the rewind point theta0).
        check_finite_loss (bool): stop with :class:`NonFiniteLossError` on a NaN/inf loss
            (checked every step on CPU; on a GPU every ``progress_interval`` steps, or 50).
        progress_interval (int): print ``iter i/n, loss, ETA`` every this many iterations
            (0: never). MMEngine's own logging stays at its configured level.
        stage_name (str): how progress lines name this stage.
        seed (int, optional): reseed all RNGs with ``seed + epoch`` at every epoch start, so a
            stage resumed from an epoch checkpoint draws the same augmentations as an
            uninterrupted one (identical masks after resume).
        started_at (float, optional): ``time.time()`` when the stage's Runner started being
            built (the recorded ``seconds`` include it); default: when the run starts.
    """

    priority = 'ABOVE_NORMAL'  # before CheckpointHook, so checkpoints hold masked weights

    def __init__(self,
                 prunable: Optional[dict] = None,
                 mask: Optional[str] = None,
                 theta0: Optional[str] = None,
                 prune_ratio: Optional[float] = None,
                 prune_scope: str = 'global',
                 granularity: str = 'weight',
                 channel_score: str = 'l1',
                 weight_score: str = 'magnitude',
                 min_density: float = 0.0,
                 out_mask: Optional[str] = None,
                 out_result: Optional[str] = None,
                 out_state: Optional[str] = None,
                 check_finite_loss: bool = True,
                 progress_interval: int = 0,
                 stage_name: str = 'stage',
                 seed: Optional[int] = None,
                 started_at: Optional[float] = None) -> None:
        self.spec = PrunableSpec.from_cfg(prunable)
        self.mask_path = mask
        self.theta0_path = theta0
        self.prune_ratio = prune_ratio
        self.prune_scope = prune_scope
        self.granularity = granularity
        self.channel_score = channel_score
        self.weight_score = get_weight_score(weight_score)
        self.min_density = min_density
        self.groups = None
        self.out_mask = out_mask
        self.out_result = out_result
        self.out_state = out_state
        self.progress_interval = progress_interval
        self.stage_name = stage_name
        self.seed = seed
        self.started_at = started_at
        self._t_start = None
        self._iter_start = 0
        self.check_finite_loss = check_finite_loss
        self.check_interval = max(1, progress_interval or 50)
        self._finite: Optional[torch.Tensor] = None
        self.mask: Dict[str, torch.Tensor] = {}
        self.enforcer: Optional[MaskEnforcer] = None
        self.metrics: dict = {}
        self.test_metrics: dict = {}

    def _prepare(self, runner) -> None:
        model = unwrap(runner.model)
        names, self.groups = masked_params(model, self.spec, self.granularity)
        if self.mask_path:
            self.mask = load_mask(self.mask_path)
            missing = sorted(set(names) - set(self.mask))
            extra = sorted(set(self.mask) - set(names))
            if missing or extra:
                raise ValueError(f'mask {self.mask_path} does not cover the prunable set: '
                                 f'missing {missing[:3]}, extra {extra[:3]}; use the same '
                                 f'prunable settings as the run that wrote it')
        else:
            self.mask = ones_mask(model, names)
        self.mask = broadcast_mask(self.mask)
        self.enforcer = MaskEnforcer(model, self.mask)

    def before_run(self, runner) -> None:
        if self.started_at is None:
            self.started_at = time.time()

    def before_train(self, runner) -> None:
        self._prepare(runner)
        model = unwrap(runner.model)
        resumed = runner.iter > 0
        if self.theta0_path and not resumed:
            # rewinding a resumed stage would throw away its progress
            rewind(model, load_state(self.theta0_path), required=list(self.mask))
        apply_mask(model, self.mask)
        broadcast_state(model)  # DDP synced the weights before the rewind; sync the rewound ones
        self._t_start, self._iter_start = time.time(), runner.iter
        report = sparsity(self.mask)
        runner.logger.info(f'[colt] training with {len(self.mask)} masked layers, sparsity '
                           f'{report.overall:.2%}' + (' (resumed)' if resumed else ''))

    def before_train_epoch(self, runner) -> None:
        if runner.epoch > 0:
            crash_point('stage_epoch')  # tests: a kill after an epoch checkpoint
        if self.seed is not None:
            from mmengine.runner import set_random_seed
            set_random_seed(self.seed + runner.epoch)

    def before_val(self, runner) -> None:
        # runner.val()/test() without train(): still evaluate the masked model
        if self.enforcer is None:
            self._prepare(runner)
            apply_mask(unwrap(runner.model), self.mask)

    before_test = before_val

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        done = runner.iter + 1
        if self.check_finite_loss and outputs:
            self._check_loss(outputs.get('loss'), runner, done)
        self.enforcer.step()
        if (self.progress_interval and runner.rank == 0
                and (done % self.progress_interval == 0 or done == runner.max_iters)):
            rate = (time.time() - self._t_start) / max(done - self._iter_start, 1)
            loss = outputs.get('loss') if outputs else None
            loss_txt = f', loss {float(loss.detach()):.3f}' if isinstance(
                loss, torch.Tensor) else ''
            progress(f'  {self.stage_name}: iter {done}/{runner.max_iters}{loss_txt}, '
                     f'{rate:.2f} s/iter, stage ETA {rate * (runner.max_iters - done):.0f} s')

    def _check_loss(self, loss, runner, done: int) -> None:
        """Stop on a NaN/inf loss. On a GPU the flag stays on the device and is read only every
        ``check_interval`` steps: reading it every step would make each step wait for the GPU."""
        if not isinstance(loss, torch.Tensor):
            if loss is not None and not math.isfinite(loss):
                self._raise_non_finite(loss, f'at iteration {runner.iter}')
            return
        if loss.device.type == 'cpu':
            value = float(loss.detach())
            if not math.isfinite(value):
                self._raise_non_finite(value, f'at iteration {runner.iter}')
            return
        finite = torch.isfinite(loss.detach())
        self._finite = finite if self._finite is None else self._finite & finite
        if done % self.check_interval == 0 or done == runner.max_iters:
            ok, self._finite = bool(self._finite), None
            if not ok:
                self._raise_non_finite('nan/inf', f'at an iteration up to {runner.iter}')

    @staticmethod
    def _raise_non_finite(value, where: str) -> None:
        raise NonFiniteLossError(f'loss is {value} {where}: stage stopped, earlier tickets are '
                                 f'kept; lower the learning rate or check the data')

    def after_val_epoch(self, runner, metrics: Optional[Dict[str, float]] = None) -> None:
        self.metrics = dict(metrics or {})

    def after_test_epoch(self, runner, metrics: Optional[Dict[str, float]] = None) -> None:
        self.test_metrics = dict(metrics or {})
        self._write_result(runner)

    def after_train(self, runner) -> None:
        crash_point('stage_trained')  # tests: a kill after training, before the stage's files
        model = unwrap(runner.model)
        if self.prune_ratio is not None and self.out_mask:
            # computed once (rank 0) and broadcast: all ranks hold the same pruned mask
            new_mask = self.mask
            if runner.rank == 0:
                params = dict(model.named_parameters())
                new_mask = self._prune(params)
            new_mask = broadcast_mask(new_mask)
            if runner.rank == 0 and not osp.exists(self.out_mask):
                save_mask(self.out_mask, new_mask, meta=dict(prune_ratio=self.prune_ratio))
            runner.logger.info(f'[colt] pruned to {sparsity(new_mask).overall:.2%} '
                               f'-> {self.out_mask}')
        if self.out_state and runner.rank == 0 and not osp.exists(self.out_state):
            save_state(self.out_state, model)
        stats = getattr(runner.train_dataloader.dataset, 'stats', None)
        self._write_result(runner, seconds=time.time() - self.started_at,
                           train_samples=_samples_seen(runner),
                           **({'partition_stats': stats} if stats else {}))

    def _prune(self, params: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        if self.groups is not None:
            return channel_prune(params, self.mask, self.groups, self.prune_ratio,
                                 self.prune_scope, self.channel_score)
        theta0 = load_state(self.theta0_path) if self.weight_score.needs_theta0 else None
        scores = self.weight_score({n: params[n] for n in self.mask}, theta0)
        return prune_by_score(scores, self.mask, self.prune_ratio, self.prune_scope,
                              self.min_density)

    def _write_result(self, runner, **extra) -> None:
        if self.out_result and runner.rank == 0:
            # a stage resumed after its last epoch runs no validation: keep the recorded metrics
            found = dict(metrics=_floats(self.metrics), test_metrics=_floats(self.test_metrics),
                         early_stop=runner.message_hub.get_info('colt/early_stop'))
            update_json(self.out_result, **{k: v for k, v in found.items() if v},
                        sparsity=sparsity(self.mask).overall, iters=runner.iter, **extra)


def _samples_seen(runner) -> int:
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


