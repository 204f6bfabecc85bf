"""The baselines a search compares against, each a mask found without rounds."""
from typing import List, Optional

import torch

from ..core import Pruner, random_mask_like, save_ticket
from ..core.channel_cost import check_input_size, check_target_macs, ratio_for_macs
from ..core.channels import random_channel_mask_like
from ..core.prunable import channel_cost, masked_params
from ..core.scores import channel_score, weight_score
from ..errors import SearchError
from ..registry import METHODS
from ..runtime.checkpoints import load_state
from ..search.method import Method, write_once


@METHODS.register_module('dense')
class Dense(Method):
    """Nothing pruned: the final schedule from the same theta0, the dense reference."""

    supports_channels = True

    def find_mask(self, ctx, stages, rounds: List[dict]) -> Optional[str]:
        return None


@METHODS.register_module('ticket')
class GivenTicket(Method):
    """Train ``init_ticket``'s mask as it is (e.g. a transferred ImageNet ticket)."""

    def check(self, s) -> None:
        if not s.init_ticket:
            raise ValueError("colt.method='ticket' needs init_ticket=dict(path=...)")

    def find_mask(self, ctx, stages, rounds: List[dict]) -> str:
        return ctx.work.ticket('init')


def channel_groups_of(ctx):
    """The search's channel groups (its model built once more: groups are not kept)."""
    s = ctx.settings
    return masked_params(ctx.task.build_model(ctx.cfg), s.spec, 'channel', s.channel_groups)[1]


@METHODS.register_module('random')
class RandomMask(Method):
    """A random mask with the per-layer sparsity of the ``random_from`` ticket (channel
    tickets: random channels with its per-group widths)."""

    supports_channels = True

    def check(self, s) -> None:
        if not s.random_from:
            raise ValueError("colt.method='random' needs random_from='<ticket>.safetensors' "
                             "(the ticket whose per-layer sparsity the random mask copies)")

    def find_mask(self, ctx, stages, rounds: List[dict]) -> str:
        def write():
            g = torch.Generator().manual_seed(ctx.settings.seed)
            if ctx.settings.granularity == 'channel':
                mask = random_channel_mask_like(ctx.sources.random, channel_groups_of(ctx), g)
            else:
                mask = random_mask_like(ctx.sources.random, g)  # checked by the pre-flight
            save_ticket(path, mask, load_state(ctx.work.theta0),
                        meta=ctx.meta(round=0, source=ctx.settings.random_from))
        path = ctx.work.ticket('random')
        return write_once(path, write)


@METHODS.register_module('oneshot')
class OneShot(Method):
    """theta0 (e.g. a pretrained backbone) pruned once to ``target_sparsity`` by its score;
    channel tickets: ``target_sparsity`` of every group's channels (layer scope) or of all
    channels (global), ranked by ``channel_score``.

    Channel tickets may name a cost instead, the block ``colt.oneshot``: ``target_macs`` (a
    fraction of dense's MACs, in (0, 1): of the backbone + neck, or of the whole detector with
    ``channel_groups='detector'``, counted at ``input_size``, (H, W)): the pruning ratio whose
    mask's MACs are nearest it is found by bisection and used in place of
    ``target_sparsity`` (recorded in the ticket's meta).
    """

    supports_channels = True
    option = 'oneshot'
    defaults = dict(target_macs=None, input_size=(256, 256))

    def check(self, s) -> None:
        if weight_score(s.weight_score).needs_theta0:
            raise ValueError(f"colt.method='oneshot' prunes theta0 itself: weight_score="
                             f"{s.weight_score!r} compares trained weights with theta0; use "
                             f"weight_score='magnitude'")
        name, score = ((s.channel_score, channel_score(s.channel_score))
                       if s.granularity == 'channel' else (s.weight_score, None))
        if (score or weight_score(s.weight_score)).needs_data:
            option = 'channel_score' if score else 'weight_score'
            raise ValueError(f"colt.method='oneshot' prunes theta0 before any training: "
                             f"{option}={name!r} observes training; use a data-free score "
                             f"('l1_bn', 'magnitude') or a method that trains first")
        t = self.options(s)['target_macs']
        if t is not None:
            if s.granularity != 'channel':
                raise ValueError("colt.oneshot.target_macs is a cost of channel tickets: set "
                                 "granularity='channel' or use target_sparsity")
            check_target_macs(t, 'oneshot')
            check_input_size(self.options(s)['input_size'], 'oneshot')

    def find_mask(self, ctx, stages, rounds: List[dict]) -> str:
        def write():
            theta0 = load_state(ctx.work.theta0)
            missing = [k for k in ctx.prunable if k not in theta0]
            if missing:
                raise SearchError(f'theta0 lacks prunable parameters {missing[:3]}: the config '
                                  f'model changed since this search started; use a new '
                                  f'--work-dir')
            ones = {n: torch.ones_like(theta0[n], dtype=torch.bool) for n in ctx.prunable}
            s = ctx.settings
            channel = s.granularity == 'channel'
            model = ctx.task.build_model(ctx.cfg) if channel else None  # built once
            groups = masked_params(model, s.spec, 'channel', s.channel_groups)[1] \
                if channel else None
            pruner = Pruner(s.channel_score if channel else s.weight_score, s.prune_scope,
                            s.min_density, groups, s.channel_divisor)
            p, meta = self.options(s), dict(round=0, oneshot=True)
            ratio = s.target_sparsity
            if p['target_macs'] is not None:  # the ratio whose MACs are the target's
                cost = channel_cost(model, s.channel_groups, p['input_size'], groups)
                ratio, macs = ratio_for_macs(
                    lambda r: cost.fraction(pruner.prune_to(theta0, ones, r)), p['target_macs'])
                meta.update(target_macs=p['target_macs'], macs=macs, ratio=ratio)
            mask = pruner.prune_to(theta0, ones, ratio)
            save_ticket(path, mask, theta0, meta=ctx.meta(**meta))
        path = ctx.work.ticket('oneshot')
        return write_once(path, write)


@METHODS.register_module('mask')
class GivenMask(Method):
    """``mask_from``'s mask on this search's theta0, all of it: a ticket rewound to the theta0
    it was found from, including what a ticket file does not hold (e.g. a pretrained
    backbone's BatchNorm, which ``init_ticket`` with mode 'rewind' cannot restore)."""

    supports_channels = True

    def check(self, s) -> None:
        if not s.mask_from:
            raise ValueError("colt.method='mask' needs mask_from='<ticket>.safetensors' (the "
                             "ticket whose mask is trained from this config's theta0)")

    def find_mask(self, ctx, stages, rounds: List[dict]) -> str:
        path = ctx.work.ticket('mask')
        return write_once(path, lambda: save_ticket(
            path, ctx.sources.mask, load_state(ctx.work.theta0),  # checked by the pre-flight
            meta=ctx.meta(round=0, source=ctx.settings.mask_from)))
