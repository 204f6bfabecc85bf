"""Data-driven scores: importance observed during training (Taylor, Fisher), one class each.

They use the score lifecycle of :mod:`colt_det.core.scores`: ``prepare`` puts hooks on the
model, every training batch adds to the statistics, scoring reads them. Nothing outside this
file knows them: the pruning hooks prepare and score every score alike.

* weights, ``colt.weight_score='taylor'``: the first-order Taylor estimate of the loss change
  when a weight is removed, ``|w * dL/dw|``, summed over the observed iterations (Molchanov et
  al., CVPR 2019);
* channels, ``colt.channel_score='taylor'``: ``|sum a * dL/da|`` of the channel's activation
  ``a`` where the consumers read it (the input of every conv that reads the group), summed over
  batches (Molchanov et al. 2019, the gate form);
* channels, ``colt.channel_score='fisher'``: GroupFisher's (Liu et al., ICML 2021)
  ``sum_n (sum_hw a * dL/da)^2`` over the samples of every batch, summed over the consumers;
* ``'taylor_macs'`` / ``'fisher_macs'``: the same divided by the multiply-accumulates one
  channel of the group costs (its producers' output rows and its consumers' input columns, at
  the observed feature sizes): GroupFisher's cost normalisation, which removes cheap channels
  before expensive ones of equal importance.

A group no batch reached with a gradient (a frozen stage: ``frozen_stages``) scores +inf: it
is never pruned, since nothing says it can go. Statistics are per process; under distributed
training rank 0's are used (it computes the mask every rank receives).
"""
from typing import Dict, List, Sequence

import torch
from torch import nn

from .scores import ChannelScore, WeightScore, register_channel_score, register_weight_score


def _module_name(param: str) -> str:
    return param.rpartition('.')[0]


class _Observer:
    """Hook handles plus the accumulated sums (one tensor per key).

    The sums stay on the device of what they add up (no device-to-host copy on the training
    step); :meth:`state_dict` and scoring hand out CPU copies.
    """

    def __init__(self) -> None:
        self.handles: List = []
        self.sums: Dict[str, torch.Tensor] = {}

    def add(self, key: str, value: torch.Tensor) -> None:
        value = value.detach().float()
        old = self.sums.get(key)
        self.sums[key] = value if old is None else old.to(value.device) + value

    def get(self, key: str):
        """The sum of ``key`` on the CPU (None: never observed)."""
        v = self.sums.get(key)
        return None if v is None else v.cpu()

    def remove(self) -> None:
        for h in self.handles:
            h.remove()
        self.handles = []

    def state_dict(self) -> dict:
        return {k: v.detach().cpu().clone() for k, v in self.sums.items()}

    def load_state_dict(self, state: dict) -> None:
        self.sums = {k: v.detach().float().cpu().clone() for k, v in state.items()}


class _Observing:
    """The lifecycle of a score whose statistics live in ``self.obs`` (an :class:`_Observer`)."""

    def remove(self) -> None:
        self.obs.remove()

    def reset(self) -> None:
        self.obs.sums = {}

    def state_dict(self) -> dict:
        return self.obs.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.obs.load_state_dict(state)


@register_weight_score('taylor')
class WeightTaylor(_Observing, WeightScore):
    """``sum over iterations of |w * dL/dw|``: the loss change a weight's removal would cause,
    to first order. Frozen weights have no gradient: they are refused."""

    needs_trainable = True
    needs_data = True

    def __init__(self) -> None:
        self.obs = _Observer()

    def prepare(self, model: nn.Module, targets: Sequence[str]) -> None:
        params = dict(model.named_parameters())
        for name in targets:
            def hook(p, name=name):
                if p.grad is not None:
                    self.obs.add(name, (p.detach() * p.grad.detach()).abs())
            self.obs.handles.append(params[name].register_post_accumulate_grad_hook(hook))

    def __call__(self, weights, theta0=None):
        missing = [n for n in weights if n not in self.obs.sums]
        if missing:
            raise ValueError(f"weight_score='taylor' saw no gradient of {missing[:3]}: it "
                             f"scores weights during training (is the stage empty, or are "
                             f"they frozen?)")
        return {n: self.obs.get(n) for n in weights}


def _width(layer: nn.Module, side: str) -> int:
    """A conv's or linear layer's input (``'in'``) or output channels."""
    if isinstance(layer, nn.Conv2d):
        return layer.in_channels if side == 'in' else layer.out_channels
    return layer.in_features if side == 'in' else layer.out_features


def _macs_per(layer: nn.Module, output: torch.Tensor, other: str, images: int) -> float:
    """The MACs one channel of ``layer``'s input (``other='out'``: it multiplies every output
    channel) or output (``other='in'``) costs per image in this call: a conv's per position
    of its output map, a linear layer's per row of one image (a RoI head's: its RoIs)."""
    if isinstance(layer, nn.Conv2d):
        kh, kw = layer.kernel_size
        return float(kh * kw * _width(layer, other) // layer.groups * output.shape[-2] *
                     output.shape[-1])
    return float(_width(layer, other) * (output.numel() // output.shape[-1]) / images)


def _per_image(ag: torch.Tensor, images: int) -> torch.Tensor:
    """``a * dL/da`` summed over each image's positions: (images, C). A conv's map over its
    (H, W); a linear layer's rows split in ``images`` consecutive, (nearly) equal runs (a RoI
    head samples the same number of RoIs per image, ordered by image)."""
    if ag.dim() == 4:
        return ag.sum((2, 3))
    ag = ag.flatten(0, -2)
    return torch.stack([part.sum(0) for part in torch.tensor_split(ag, images)])


class _ActivationGradient(_Observing, ChannelScore):
    """Channel statistics of ``a * dL/da`` where the group's consumers read ``a``, and the
    multiply-accumulates one channel costs, both per image (a linear layer's rows are
    grouped by the images of the batch, as a conv's positions).

    Subclasses say how one conv input's ``(sum_hw a * g)`` of shape (N, C) becomes a value per
    channel (:meth:`reduce`) and whether the score is divided by the channel's cost.
    """

    needs_trainable = True
    needs_data = True
    per_macs = False

    def __init__(self) -> None:
        self.obs = _Observer()

    @staticmethod
    def reduce(ag: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def prepare(self, model: nn.Module, targets: Sequence) -> None:
        modules = dict(model.named_modules())
        for group in targets:
            key = group.scored[0]
            for name in group.consumers:
                layer = modules.get(_module_name(name))
                if isinstance(layer, (nn.Conv2d, nn.Linear)) and _width(layer, 'in') == \
                        group.channels:
                    self.obs.handles.append(layer.register_forward_hook(self._consumer(key)))
            for name in group.scored:
                layer = modules.get(_module_name(name))
                if isinstance(layer, (nn.Conv2d, nn.Linear)):
                    self.obs.handles.append(layer.register_forward_hook(self._producer(key)))

    def _consumer(self, key: str):
        def hook(layer, inputs, output):
            x = inputs[0]
            if not (torch.is_grad_enabled() and x.requires_grad):
                return  # evaluation, or a frozen part of the model: nothing to learn from
            images = self._count_images(output)
            self.obs.add('macs/' + key, torch.tensor(_macs_per(layer, output, 'out', images)))

            a = x.detach()  # the hook holds this alias, never x: x -> hook -> x would be a
            # reference cycle through the autograd graph that Python's collector does not
            # free (every step's activations kept: gigabytes per epoch)

            def on_grad(g, a=a, images=images):
                self.obs.add('stat/' + key, self.reduce(_per_image(a * g.detach(), images)))
            x.register_hook(on_grad)
        return hook

    def _producer(self, key: str):
        def hook(layer, inputs, output):
            if not torch.is_grad_enabled():
                return
            images = self._count_images(output)
            self.obs.add('macs/' + key, torch.tensor(_macs_per(layer, output, 'in', images)))
        return hook

    def _count_images(self, output: torch.Tensor) -> int:
        """The images of the batch: a conv's output says (and is remembered for the linear
        layers after it in the same forward, a RoI head's); a linear layer of a model
        without convs calls each row an image."""
        if output.dim() == 4:
            self._images = output.shape[0]
            return self._images
        rows = output.numel() // output.shape[-1]
        images = getattr(self, '_images', None)
        return images if images and images <= rows else rows

    def __call__(self, weights, group) -> torch.Tensor:
        key = group.scored[0]
        stat = self.obs.get('stat/' + key)
        if stat is None:  # never reached by a gradient (frozen): nothing says it can go
            return torch.full((group.channels,), float('inf'))
        if self.per_macs:
            stat = stat / self.obs.get('macs/' + key).clamp_min(1.0)
        return stat


@register_channel_score('taylor')
class ChannelTaylor(_ActivationGradient):
    """``|sum_{n,h,w} a * dL/da|`` per batch, summed over batches and consumers."""

    @staticmethod
    def reduce(ag: torch.Tensor) -> torch.Tensor:
        return ag.sum(0).abs()


@register_channel_score('fisher')
class ChannelFisher(_ActivationGradient):
    """GroupFisher: ``sum_n (sum_hw a * dL/da)^2`` per batch, summed over batches and
    consumers."""

    @staticmethod
    def reduce(ag: torch.Tensor) -> torch.Tensor:
        return ag.pow(2).sum(0)


@register_channel_score('taylor_macs')
class ChannelTaylorPerMACs(ChannelTaylor):
    """:class:`ChannelTaylor` divided by the multiply-accumulates one channel costs."""

    per_macs = True


@register_channel_score('fisher_macs')
class ChannelFisherPerMACs(ChannelFisher):
    """:class:`ChannelFisher` divided by the multiply-accumulates one channel costs
    (GroupFisher's ``flops`` normalisation)."""

    per_macs = True
