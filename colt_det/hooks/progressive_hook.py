"""ProgressiveChannelHook: channels removed while the model trains, until a MACs target."""
import os.path as osp
from typing import List, Optional, Sequence

import torch
from mmengine.hooks import Hook

from ..core import MaskEnforcer, Pruner, broadcast_mask, model_weights, ones_mask, save_mask
from ..core.apply import unwrap
from ..core.channels import channel_keep, channel_mask, channel_param_names
from ..core.io import atomic_write_json, read_json
from ..core.latency import LatencyTable, latency_fraction
from ..core.prunable import channel_cost, channel_groups
from ..core.schedule import cubic_sparsity, schedule_steps
from ..registry import HOOKS

_STATE = 'colt_progressive'  # the hook's key in the stage's MMEngine checkpoints


@HOOKS.register_module()
class ProgressiveChannelHook(Hook):
    """Prunes channel groups during training, a block of ``divisor`` channels at a time, until
    the traced part's multiply-accumulates reach ``target_macs`` of the dense model's.

    The MACs are the backbone + neck's (``depth`` ``'inner'``/``'deep'``) or the whole
    detector's at its test-time proposal count (``'detector'``: the heads' channels are
    pruned too).

    Every ``every`` iterations from ``start`` to ``end`` it removes the lowest-scoring blocks
    (each the ``divisor`` lowest-scoring kept channels of one group, ranked against every other
    group's: global, non-uniform widths) until the MACs are at most the schedule's goal, a
    cubic from 1 down to ``target_macs`` (GMP's shape, :func:`~colt_det.core.schedule.
    cubic_sparsity`); from ``end`` on the model trains at the target. The score is any channel
    score: a data-driven one (``'fisher_macs'``, GroupFisher's) ranks by what it observed since
    the previous step, then starts anew. With ``normalize`` a block's score is divided by what
    removing it saves at ``input_size`` with the current widths: ``'macs'`` its MACs,
    ``'latency'`` its time in a :class:`~colt_det.core.latency.LatencyTable` measured on this
    machine's CPU when training starts (latency-aware; ``target_latency`` adds a goal in that
    time to the MACs'). Pruned channels are exactly zero after every optimizer step. The mask,
    the score's statistics and the latency table are part of the stage's checkpoints, so a
    resumed stage prunes as an uninterrupted one. At the end the mask goes to ``out_mask``.

    Args:
        target_macs (float): the MACs to reach, a fraction of the dense model's in (0, 1).
        start, end, every (int or float): iterations (int) or fractions of the training.
        score (str): a registered channel score.
        depth (str): the channel groups (``'inner'``, ``'deep'`` or ``'detector'``).
        divisor (int): channels removed per step from one group; widths stay multiples of it.
        input_size (Sequence[int]): (H, W) the MACs are counted at.
        normalize (str, optional): ``None`` (rank by the score), ``'macs'`` or ``'latency'``.
        target_latency (float, optional): also prune until the modelled time (the latency
            table's) is at most this fraction of dense's, on the same cubic schedule.
        latency_table (str, optional): a table an earlier stage wrote (``out_table``), used
            instead of timing the layers again (the same table: the same ranking).
        out_table (str, optional): where the measured table is written (never overwritten).
        out_mask (str, optional): where the final mask is written.
    """

    priority = 'ABOVE_NORMAL'  # before CheckpointHook: checkpoints hold the pruned weights

    def __init__(self, target_macs: float = 0.5, start=0.0, end=0.5, every=0.01,
                 score: str = 'fisher_macs', depth: str = 'deep', divisor: int = 8,
                 input_size: Sequence[int] = (256, 256), normalize: Optional[str] = None,
                 target_latency: Optional[float] = None, latency_table: Optional[str] = None,
                 out_table: Optional[str] = None, out_mask: Optional[str] = None) -> None:
        self.target = target_macs
        self.target_latency = target_latency
        self.window = (start, end, every)
        self.score_name = score
        self.depth = depth
        self.divisor = max(1, divisor)
        self.input_size = tuple(input_size)
        self.normalize = normalize
        self.latency_table = latency_table
        self.out_table = out_table
        self.out_mask = out_mask
        self.mask = None
        self.table = None  # the LatencyTable (normalize='latency'), measured once
        self._score_state = None
        self.history: List[List[float]] = []  # [iteration, MACs fraction] per step

    def before_train(self, runner) -> None:
        model = unwrap(runner.model)
        self.start, self.end, self.steps = schedule_steps(self.window, runner.max_iters,
                                                          'progressive')
        self.groups = channel_groups(model, self.depth)
        self.cost = channel_cost(model, self.depth, self.input_size, self.groups)
        timed = self.normalize == 'latency' or self.target_latency is not None
        if timed and self.table is None and runner.rank == 0:
            self.table = self._new_table(runner)
        if self.table is not None:
            self.table.check_fits(self.cost)
        if self.mask is None:  # a fresh stage; a resumed one restored its mask
            self.mask = ones_mask(model, channel_param_names(self.groups))
        self.enforcer = MaskEnforcer(model, self.mask)
        self.enforcer.step()
        self.pruner = Pruner(self.score_name, 'global', groups=self.groups)
        self.pruner.prepare(model, self.mask)
        if self._score_state is not None:
            self.pruner.load_state_dict(self._score_state)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        done = runner.iter + 1
        if done in self.steps:
            goal = 1.0 - cubic_sparsity(done, self.start, self.end, 1.0 - self.target)
            goal_ms = None if self.target_latency is None else \
                1.0 - cubic_sparsity(done, self.start, self.end, 1.0 - self.target_latency)
            if runner.rank == 0:
                self.mask = self._prune_to(model_weights(runner.model), goal, goal_ms)
            self.mask = broadcast_mask(self.mask)
            self.pruner.score.reset()  # the next step ranks by what it observes from here
            self.enforcer = MaskEnforcer(runner.model, self.mask)
            frac = self.cost.fraction(self.mask)
            self.history.append([done, frac])
            ms = latency_fraction(self.table, self.cost, self.mask)
            runner.logger.info(f'[colt] progressive: iteration {done}, MACs {frac:.3f} of '
                               f'dense (goal {goal:.3f})' +
                               (f', modelled time {ms:.3f}' if ms is not None else ''))
        self.enforcer.step()

    def _prune_to(self, weights, goal: float, goal_ms: Optional[float] = None):
        """The mask with the lowest-ranked blocks removed until the MACs are at most
        ``goal`` (and the modelled time at most ``goal_ms``), fractions of dense's."""
        keeps = [channel_keep(self.mask, g).clone() for g in self.groups]
        scores = [self.pruner.score(weights, g).float() for g in self.groups]
        kept = [int(k.sum()) for k in keeps]
        dense_ms = self.table.ms(self.cost) if goal_ms is not None else None  # once per step
        while self.cost.fraction(kept) > goal or (
                goal_ms is not None and self.table.ms(self.cost, kept) > goal_ms * dense_ms):
            best, best_value = None, None
            saved = self._saved(kept)
            for i, (k, s) in enumerate(zip(keeps, scores)):
                if kept[i] < 2 * self.divisor:  # every group keeps at least one block
                    continue
                block = torch.where(k, s, torch.full_like(s, float('inf')))
                value = torch.sort(block, stable=True).values[:self.divisor].sum()
                if saved is not None:
                    value = value / max(saved[i], 1e-9)
                if torch.isfinite(value) and (best_value is None or value < best_value):
                    best, best_value = i, value
            if best is None:
                break  # nothing left that may go: the goal cannot be reached
            s = torch.where(keeps[best], scores[best], torch.full_like(scores[best],
                                                                       float('inf')))
            keeps[best][torch.sort(s, stable=True).indices[:self.divisor]] = False
            kept[best] -= self.divisor
        return channel_mask(self.mask, self.groups, keeps)

    def _new_table(self, runner) -> LatencyTable:
        """The given table, or the layers timed now (and written to ``out_table``)."""
        if self.latency_table:
            return LatencyTable.from_state(read_json(self.latency_table), self.latency_table)
        runner.logger.info('[colt] progressive: timing the layers for the latency table')
        table = LatencyTable.measure(self.cost, self.divisor)
        if self.out_table and not osp.exists(self.out_table):
            atomic_write_json(self.out_table, table.state_dict(), overwrite=False)
        return table

    def _saved(self, kept: List[int]) -> Optional[List[float]]:
        """What one more block of each group would save (``normalize``), else None."""
        if self.normalize is None:
            return None
        cost = (lambda k: self.table.ms(self.cost, k)) if self.normalize == 'latency' \
            else None
        return self.cost.saved_per_block(kept, self.divisor, cost)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint[_STATE] = dict(mask={n: m.clone() for n, m in self.mask.items()},
                                  score=self.pruner.state_dict(),
                                  history=torch.tensor(self.history, dtype=torch.float64))
        if self.table is not None:
            checkpoint[_STATE]['latency'] = self.table.state_dict()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get(_STATE)
        if state is not None:
            self.mask = {n: m.bool() for n, m in state['mask'].items()}
            self._score_state = state['score']
            self.history = [[int(i), float(f)] for i, f in state['history'].tolist()]
            if state.get('latency') is not None:
                self.table = LatencyTable.from_state(state['latency'])

    def after_train(self, runner) -> None:
        self.pruner.remove()
        frac = self.cost.fraction(self.mask)
        ms = latency_fraction(self.table, self.cost, self.mask)
        runner.logger.info(f'[colt] progressive pruning: MACs {frac:.3f} of dense '
                           f'(target {self.target})' +
                           (f', modelled time {ms:.3f} of dense' if ms is not None else '') +
                           (f' (target {self.target_latency})' if self.target_latency else ''))
        runner.message_hub.update_info('colt/progressive', dict(macs=frac, latency=ms,
                                                                history=self.history))
        if self.out_mask and runner.rank == 0 and not osp.exists(self.out_mask):
            save_mask(self.out_mask, self.mask, meta=dict(
                progressive=True, macs=frac, target_macs=self.target,
                **({} if ms is None else dict(modelled_time=ms))))
