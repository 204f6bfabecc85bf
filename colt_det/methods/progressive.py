"""Progressive channel pruning: a slim detector found inside one training run (GroupFisher's
recipe, Liu et al. ICML 2021), its channels removed while the final stage trains."""
import os.path as osp
from typing import List, Optional

from ..core.channel_cost import check_input_size, check_target_macs
from ..core.schedule import check_window
from ..core.scores import channel_score
from ..registry import METHODS
from ..search.method import Method
from ..search.workdir import WorkDir

NORMALIZE = (None, 'macs', 'latency')  # what a block's score is divided by


@METHODS.register_module('progressive')
class ProgressiveChannels(Method):
    """One training run of the final schedule from theta0 that removes channel blocks
    (:class:`~colt_det.hooks.progressive_hook.ProgressiveChannelHook`) until the backbone +
    neck's MACs are ``colt.progressive.target_macs`` of dense, then trains on: its trained,
    pruned weights are the ticket (no rewinding); ``colt-export --slim`` makes it narrow.

    Channels are ranked by ``colt.channel_score`` (``'fisher_macs'``: GroupFisher's Fisher
    importance per MAC saved; any registered channel score works), globally across the groups
    of ``colt.channel_groups``, a block of ``colt.channel_divisor`` channels at a time.

    Its block ``colt.progressive``: ``target_macs`` (a fraction of dense's MACs, in (0, 1)),
    ``start``, ``end``, ``every`` (iterations, int, or fractions of the training, float: the
    MACs fall along a cubic from ``start`` to ``end``, a step every ``every``) and
    ``input_size`` (the (H, W) the MACs are counted at) and ``normalize``: ``None`` (the
    score ranks as it is), ``'macs'`` or ``'latency'`` (a block's score divided by the MACs,
    or the time on this machine's CPU, that removing it saves at ``input_size``:
    latency-aware pruning, :mod:`colt_det.core.latency`; with a score that is not already
    divided by its cost, e.g. ``channel_score='fisher'``); ``target_latency`` (optional, in
    (0, 1)): prune on until the modelled time is at most this fraction of dense's too;
    ``latency_table`` (optional): the ``latency_table.json`` an earlier run's final stage wrote,
    instead of timing the layers again (a measured table differs from run to run with the
    machine's timing noise; the same table gives the same ranking).
    """

    supports_channels = True
    option = 'progressive'
    defaults = dict(target_macs=0.5, start=0.0, end=0.5, every=0.01, input_size=(256, 256),
                    normalize=None, target_latency=None, latency_table=None)

    def check(self, s) -> None:
        if s.granularity != 'channel':
            raise ValueError("method='progressive' removes channels: set granularity='channel'")
        p = self.options(s)
        t = p['target_macs']
        check_target_macs(t, 'progressive')
        check_window(p, 'progressive')
        check_input_size(p['input_size'], 'progressive')
        score = channel_score(s.channel_score)  # a ValueError names the registered ones
        norm = p['normalize']
        if norm not in NORMALIZE:
            raise ValueError(f"colt.progressive.normalize must be one of {list(NORMALIZE)}, "
                             f"got {norm!r}")
        t = p['target_latency']
        if t is not None and (isinstance(t, bool) or not isinstance(t, (int, float))
                              or not 0.0 < t < 1.0):
            raise ValueError(f'colt.progressive.target_latency must be in (0, 1) or None, got '
                             f'{t!r}: e.g. target_latency=0.45 keeps 45% of the modelled time')
        table = p['latency_table']
        if table is not None and not (isinstance(table, str) and osp.isfile(table)):
            raise ValueError(f'colt.progressive.latency_table {table!r} is not a file: pass '
                             f"the latency_table.json of an earlier run's final stage, or "
                             f'drop it to time the layers')
        if norm is not None and getattr(score, 'per_macs', False):
            raise ValueError(f"channel_score={s.channel_score!r} is already divided by its "
                             f"MACs: with colt.progressive.normalize={norm!r} use the score "
                             f"without '_macs' (e.g. 'fisher')")

    def find_mask(self, ctx, stages, rounds: List[dict]) -> Optional[str]:
        return None  # the final stage prunes (final_stage)

    def final_stage(self, ctx, mask: Optional[str]) -> dict:
        s, p = ctx.settings, self.options(ctx.settings)
        hook = dict(type='colt_det.ProgressiveChannelHook', target_macs=p['target_macs'],
                    start=p['start'], end=p['end'], every=p['every'], score=s.channel_score,
                    depth=s.channel_groups, divisor=s.channel_divisor,
                    input_size=tuple(p['input_size']), normalize=p['normalize'],
                    target_latency=p['target_latency'], latency_table=p['latency_table'],
                    out_table=WorkDir.stage_latency_table(ctx.work.final_stage),
                    out_mask=WorkDir.stage_mask(ctx.work.final_stage))
        return dict(hooks=[hook], own_mask=True, what='progressive channel pruning')
