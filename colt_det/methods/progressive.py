"""Progressive channel pruning: a slim detector found inside one training run (GroupFisher's
recipe, Liu et al. ICML 2021), its channels removed while the final stage trains."""
from typing import List, Optional

from ..core.channel_cost import check_input_size, check_target_macs
from ..core.schedule import check_window
from ..core.scores import channel_score
from ..registry import METHODS
from ..search.method import Method
from ..search.workdir import WorkDir


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
    ``input_size`` (the (H, W) the MACs are counted at).
    """

    supports_channels = True
    option = 'progressive'
    defaults = dict(target_macs=0.5, start=0.0, end=0.5, every=0.01, input_size=(256, 256))

    def check(self, s) -> None:
        if s.granularity != 'channel':
            raise ValueError("method='progressive' removes channels: set granularity='channel'")
        p = self.options(s)
        t = p['target_macs']
        check_target_macs(t, 'progressive')
        check_window(p, 'progressive')
        check_input_size(p['input_size'], 'progressive')
        channel_score(s.channel_score)  # a ValueError names the registered ones

    def find_mask(self, ctx, stages, rounds: List[dict]) -> Optional[str]:
        return None  # the final stage prunes (final_stage)

    def final_stage(self, ctx, mask: Optional[str]) -> dict:
        s, p = ctx.settings, self.options(ctx.settings)
        hook = dict(type='colt_det.ProgressiveChannelHook', target_macs=p['target_macs'],
                    start=p['start'], end=p['end'], every=p['every'], score=s.channel_score,
                    depth=s.channel_groups, divisor=s.channel_divisor,
                    input_size=tuple(p['input_size']),
                    out_mask=WorkDir.stage_mask(ctx.work.final_stage))
        return dict(hooks=[hook], own_mask=True, what='progressive channel pruning')
