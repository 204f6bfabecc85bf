"""Torch-Pruning's own pruner as a method: the baseline a user would pick instead of a search."""
import copy
from typing import List

import torch

from ..core import save_ticket
from ..core.prunable import TORCH_PRUNING_IMPORTANCES, torch_pruning_mask
from ..registry import METHODS
from ..runtime.checkpoints import load_state
from ..search.method import Method, write_once


@METHODS.register_module('torch_pruning')
class TorchPruning(Method):
    """One-shot structured pruning of theta0 (a pretrained backbone) by Torch-Pruning's
    ``MetaPruner``: ``target_sparsity`` of every coupled channel group of backbone + neck
    (``channel_groups='deep'``), widths rounded to ``channel_divisor``; the final stage
    fine-tunes it like every other ticket.

    Its block ``colt.torch_pruning``: ``importance``, ``'group_magnitude'`` (the default,
    ``GroupMagnitudeImportance``: the group's L2 norm) or ``'taylor'``
    (``GroupTaylorImportance``: ``|w * dL/dw|``, the gradient of the training loss at theta0
    summed over ``batches`` training batches, whose images the search's cost counts).
    """

    supports_channels = True
    option = 'torch_pruning'
    defaults = dict(importance='group_magnitude', batches=8)

    def check(self, s) -> None:
        if s.granularity != 'channel' or s.channel_groups != 'deep':
            raise ValueError("colt.method='torch_pruning' prunes coupled channel groups: set "
                             "granularity='channel' and channel_groups='deep'")
        p = self.options(s)
        if p['importance'] not in TORCH_PRUNING_IMPORTANCES:
            raise ValueError(f"colt.torch_pruning.importance must be one of "
                             f"{list(TORCH_PRUNING_IMPORTANCES)}, got {p['importance']!r}")
        b = p['batches']
        if isinstance(b, bool) or not isinstance(b, int) or b < 1:
            raise ValueError(f'colt.torch_pruning.batches must be an integer >= 1, got {b!r}')

    def find_mask(self, ctx, stages, rounds: List[dict]) -> str:
        from .baselines import channel_groups_of

        def write():
            s, p = ctx.settings, self.options(ctx.settings)
            model = ctx.task.build_model(ctx.cfg)
            theta0 = load_state(ctx.work.theta0)
            model.load_state_dict(theta0, strict=True)
            meta = dict(torch_pruning=True, importance=p['importance'])
            if p['importance'] == 'taylor':
                with ctx.task.scope(ctx.cfg):
                    meta['score_samples'] = loss_gradients(model, ctx.cfg, p['batches'],
                                                           s.seed)
            mask = torch_pruning_mask(model, channel_groups_of(ctx), s.target_sparsity,
                                      s.channel_divisor, p['importance'])
            save_ticket(path, mask, theta0, meta=ctx.meta(round=0, **meta))
        path = ctx.work.ticket('torch_pruning')
        return write_once(path, write)


def loss_gradients(model: torch.nn.Module, cfg, batches: int, seed: int) -> int:
    """Accumulate the training loss's gradients of ``batches`` batches of the config's
    training data (seeded) in ``model``'s parameters; returns the images seen. Call it under
    the config's registry scope (``task.scope(cfg)``)."""
    from mmengine.runner import Runner
    loader = Runner.build_dataloader(copy.deepcopy(cfg.train_dataloader), seed=seed)
    model.train()
    model.zero_grad()
    seen = 0
    for i, batch in enumerate(loader):
        if i == batches:
            break
        data = model.data_preprocessor(batch, True)
        loss, _ = model.parse_losses(model(**data, mode='loss'))
        loss.backward()
        seen += len(data['inputs'])
    return seen
