"""What a channel mask costs: the multiply-accumulates of a traced module under a channel mask,
without building the slim model.

One forward pass records every conv and linear layer's shape and output size; the MACs of a mask
are then a sum over those layers with their kept input and output channels
(:func:`~colt_det.core.channels.channel_keep` of the groups they produce or read). Progressive
pruning asks this after every step it takes, so it must be cheap: it is arithmetic on a table.
It counts conv and linear layers only; MMEngine's complexity analysis of the slim model also
counts the norms' elementwise operations, within 1% of it (tested).
"""
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import torch
from torch import nn

from .channels import ChannelGroup, channel_keep
from .masks import Mask


@dataclass
class _Layer:
    per_pair: float  # MACs per (input channel, output channel) pair: kh * kw * H_out * W_out
    cin: int
    cout: int
    groups: int = 1
    outputs: float = 0.0  # output positions per channel (H_out * W_out, a linear's rows)
    calls: list = field(default_factory=list)  # each call's input: (H, W) of a conv, rows
    conv: Optional[tuple] = None  # (kernel_size, stride, padding, dilation) of a conv


class ChannelCost:
    """MACs of ``module`` (names as in ``prefix + module.named_modules()``) under channel masks.

    Args:
        module (nn.Module): the traced module (e.g. a detector's backbone + neck).
        example (Tensor or tuple): the input it is traced with (the MACs are those of this
            input size; a tuple: its arguments). A layer called more than once (an RPN conv
            shared by the pyramid's levels) counts every call.
        groups (Sequence[ChannelGroup]): the channel groups a mask prunes.
        prefix (str): the prefix of the groups' parameter names (``''`` when ``module`` is the
            model the groups were found on).
    """

    def __init__(self, module: nn.Module, example,
                 groups: Sequence[ChannelGroup], prefix: str = '') -> None:
        self.layers: Dict[str, _Layer] = {}
        handles = []
        for name, m in module.named_modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                handles.append(m.register_forward_hook(self._record(prefix + name)))
        was_training = module.training
        module.eval()
        try:
            with torch.no_grad():
                module(*example) if isinstance(example, tuple) else module(example)
        finally:
            module.train(was_training)
            for h in handles:
                h.remove()
        self.groups = list(groups)
        self.out_of: Dict[str, int] = {}  # layer -> the group whose channels it produces
        self.in_of: Dict[str, int] = {}  # layer -> the group whose channels it reads
        for i, g in enumerate(self.groups):
            for n in g.scored:
                self.out_of[n.rpartition('.')[0]] = i
            for n in g.consumers:
                self.in_of[n.rpartition('.')[0]] = i
        self.dense = self.macs(None)

    def _record(self, name: str):
        def hook(m, inputs, output):
            if isinstance(m, nn.Conv2d):
                kh, kw = m.kernel_size
                positions = output.shape[-2] * output.shape[-1]
                layer = _Layer(kh * kw * positions / m.groups, m.in_channels, m.out_channels,
                               m.groups, positions, [tuple(inputs[0].shape[-2:])],
                               (m.kernel_size, m.stride, m.padding, m.dilation))
            else:  # every row is one input's (a batch of RoIs is one image's proposals)
                rows = output.numel() // output.shape[-1]
                layer = _Layer(float(rows), m.in_features, m.out_features, 1, rows, [rows])
            old = self.layers.get(name)
            if old is not None:  # called again (another pyramid level): its MACs add up
                layer.per_pair += old.per_pair
                layer.outputs += old.outputs
                layer.calls = old.calls + layer.calls
            self.layers[name] = layer
        return hook

    def part_macs(self, mask=None) -> Dict[str, float]:
        """:meth:`macs` by the model's top-level parts (``backbone``, ``neck``,
        ``rpn_head``, ``roi_head``, ...)."""
        return {part: self.macs(mask, part) for part in dict.fromkeys(
            n.partition('.')[0] for n in self.layers)}

    def kept(self, mask: Mask) -> List[int]:
        """The kept channels of every group under ``mask``."""
        return [int(channel_keep(mask, g).sum()) for g in self.groups]

    def macs(self, mask=None, part: str = '') -> float:
        """Multiply-accumulates of one input under ``mask`` (None: nothing pruned); ``mask``
        may also be the list of kept channels per group (:meth:`kept`); ``part``: only the
        layers whose names start with ``part + '.'``."""
        return sum(self.layers[name].per_pair * cin * cout
                   for name, cin, cout in self.widths(mask, part))

    def widths(self, mask=None, part: str = '') -> Iterator[Tuple[str, int, int]]:
        """``(layer, input channels, output channels)`` of every layer under ``mask`` (as in
        :meth:`macs`)."""
        kept = None if mask is None else (mask if isinstance(mask, list) else self.kept(mask))
        for name, layer in self.layers.items():
            if part and not name.startswith(part + '.'):
                continue
            cin, cout = layer.cin, layer.cout
            if kept is not None and name in self.in_of:
                g = self.groups[self.in_of[name]]
                cin = cin * kept[self.in_of[name]] // g.channels if cin != g.channels else \
                    kept[self.in_of[name]]
            if kept is not None and name in self.out_of:
                cout = kept[self.out_of[name]]
            yield name, cin, cout

    def fraction(self, mask) -> float:
        """:meth:`macs` as a fraction of the unpruned module's."""
        return self.macs(mask) / self.dense if self.dense else 1.0

    def saved_per_block(self, kept: List[int], block: int = 1,
                        cost: Optional[Callable[[List[int]], float]] = None) -> List[float]:
        """What ``block`` more channels of each group would save with the widths ``kept``:
        MACs, or ``cost(kept)`` (e.g. a :class:`~colt_det.core.latency.LatencyTable`'s time of
        this module's layers)."""
        cost = cost or self.macs
        base = cost(kept)
        out = []
        for i in range(len(self.groups)):
            fewer = list(kept)
            fewer[i] = max(0, fewer[i] - block)
            out.append(base - cost(fewer))
        return out


def ratio_for_macs(macs_at: Callable[[float], float], level: float, steps: int = 12,
                   high: float = 0.95) -> tuple:
    """The pruning ratio in ``[0, high]`` whose slim model's MACs fraction (``macs_at(ratio)``,
    decreasing in the ratio) is nearest ``level``, by bisection: ``(ratio, its MACs)``.

    One-shot channel tickets "at a level" (0.5x, 0.33x of dense's MACs) are found this way by
    the channel and deploy benchmarks alike.
    """
    lo, hi, best = 0.0, high, None
    for _ in range(steps):
        mid = (lo + hi) / 2
        got = macs_at(mid)
        if best is None or abs(got - level) < abs(best[1] - level):
            best = (mid, got)
        lo, hi = (mid, hi) if got > level else (lo, mid)
    return best


def check_target_macs(value, block: str) -> None:
    """``colt.<block>.target_macs`` is a fraction in (0, 1), or a one-line ValueError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 < value < 1.0:
        raise ValueError(f'colt.{block}.target_macs must be in (0, 1), got {value!r}: e.g. '
                         f'target_macs=0.5 keeps half the MACs')


def check_input_size(size, block: str) -> None:
    """``colt.<block>.input_size`` is (H, W), integers >= 32, or a one-line ValueError."""
    if not (isinstance(size, (list, tuple)) and len(size) == 2 and all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 32 for v in size)):
        raise ValueError(f'colt.{block}.input_size must be (H, W), integers >= 32, '
                         f'got {size!r}')
