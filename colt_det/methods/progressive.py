"""Progressive channel pruning: a slim detector found inside one training run (GroupFisher's
recipe, Liu et al. ICML 2021), its channels removed while the final stage trains."""
from typing import List, Optional

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
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not 0.0 < t < 1.0:
            raise ValueError(f'colt.progressive.target_macs must be in (0, 1), got {t!r}: e.g. '
                             f'target_macs=0.5 keeps half the MACs')
        check_window(p, 'progressive')
        size = p['input_size']
        if not (isinstance(size, (list, tuple)) and len(size) == 2 and all(
                isinstance(v, int) and not isinstance(v, bool) and v >= 32 for v in size)):
            raise ValueError(f'colt.progressive.input_size must be (H, W), integers >= 32, '
                             f'got {size!r}')
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
