"""What a channel mask costs in time: a latency table of a traced module's layers, measured on
this machine's CPU at a grid of widths (the lookup-table latency model of latency-aware channel
pruning: HALP, Shen et al. NeurIPS 2022).

Multiply-accumulates are not milliseconds: a narrow conv at a high resolution is bound by the
memory its input and output maps move, a layer of 8 output channels uses the vector units
badly, and the elementwise passes after a conv (BatchNorm, ReLU, residual adds) count no MACs
at all. A :class:`LatencyTable` times every conv and linear layer of a
:class:`~colt_det.core.channel_cost.ChannelCost` (each of its calls, at its own input size) with
a few input and output widths, and interpolates between them; each output element adds the time
of one BatchNorm + ReLU pass. :meth:`LatencyTable.ms` is then, like ``ChannelCost.macs``,
arithmetic on a table: progressive pruning asks it for every block it weighs.

The times are this CPU's at ``torch.get_num_threads()`` threads: measure where the detector
will run (the table is part of the pruning state, so a resumed stage ranks with the same one).
"""
import statistics
import time
from typing import Dict, List, Optional, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from .channel_cost import ChannelCost


def _grid(full: int, prunable: bool, divisor: int, points: int) -> List[int]:
    """The widths a layer side is timed at: the full width, and ``points`` evenly spaced
    multiples of ``divisor`` down to one block where the side can be pruned."""
    if not prunable or full <= divisor:
        return [full]
    step = [max(divisor, int(round(full * k / points / divisor)) * divisor)
            for k in range(1, points + 1)]
    return sorted(set([divisor] + [min(w, full) for w in step] + [full]))


def _median_ms(fn, runs: int) -> float:
    fn()  # warm-up: allocation, kernel choice
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1e3 * statistics.median(times)


def _layer_ms(layer, cin: int, cout: int, runs: int) -> float:
    """The time of all calls of ``layer`` (a ``ChannelCost`` layer record) at these widths."""
    total = 0.0
    with torch.no_grad():
        if layer.conv is None:  # linear: one call per recorded row count
            lin = nn.Linear(cin, cout)
            for rows in layer.calls:
                x = torch.randn(rows, cin)
                total += _median_ms(lambda: lin(x), runs)
            return total
        kernel, stride, padding, dilation = layer.conv
        groups = cin if layer.groups > 1 and layer.groups == layer.cin else 1  # depthwise
        conv = nn.Conv2d(cin, max(cout, groups) if groups > 1 else cout, kernel, stride,
                         padding, dilation, groups=groups)
        for h, w in layer.calls:
            x = torch.randn(1, cin, h, w)
            total += _median_ms(lambda: conv(x), runs)
    return total


def _element_ms(runs: int) -> float:
    """The time of one BatchNorm + ReLU pass per activation element (eval mode)."""
    x = torch.randn(1, 32, 256, 256)
    c = x.shape[1]
    mean, var, weight, bias = torch.zeros(c), torch.ones(c), torch.ones(c), torch.zeros(c)
    with torch.no_grad():
        ms = _median_ms(lambda: F.relu(F.batch_norm(x, mean, var, weight, bias)), runs)
    return ms / x.numel()


class LatencyTable:
    """Measured milliseconds of a traced module's conv and linear layers at a grid of widths.

    Args:
        grids (dict): layer name -> ``(input widths, output widths, ms)``, ``ms`` a
            ``len(input widths) x len(output widths)`` list of lists.
        element_ms (float): the time of one elementwise pass per output element.
    """

    def __init__(self, grids: Dict[str, tuple], element_ms: float) -> None:
        self.grids = {n: (list(a), list(b), [list(r) for r in ms])
                      for n, (a, b, ms) in grids.items()}
        self.element_ms = float(element_ms)

    @classmethod
    def measure(cls, cost: ChannelCost, divisor: int = 8, points: int = 4,
                runs: int = 5) -> 'LatencyTable':
        """Time every layer of ``cost`` at ``points`` widths per prunable side (and one
        block of ``divisor``), each the median of ``runs`` calls after a warm-up."""
        grids = {}
        for name, layer in cost.layers.items():
            ins = _grid(layer.cin, name in cost.in_of, divisor, points)
            outs = _grid(layer.cout, name in cost.out_of, divisor, points)
            ms = [[_layer_ms(layer, a, b, runs) for b in outs] for a in ins]
            grids[name] = (ins, outs, _monotone(ms))
        return cls(grids, _element_ms(runs))

    def layer_ms(self, name: str, cin: int, cout: int) -> float:
        """The interpolated time of layer ``name`` at these widths (bilinear between the timed
        widths, linear towards zero below the smallest)."""
        ins, outs, ms = self.grids[name]
        i, fi = _bracket(ins, cin)
        j, fj = _bracket(outs, cout)

        def at(a, b):
            return ms[min(a, len(ins) - 1)][min(b, len(outs) - 1)]
        value = ((1 - fi) * (1 - fj) * at(i, j) + fi * (1 - fj) * at(i + 1, j)
                 + (1 - fi) * fj * at(i, j + 1) + fi * fj * at(i + 1, j + 1))
        scale = (min(1.0, cin / ins[0]) if ins[0] else 1.0) * \
            (min(1.0, cout / outs[0]) if outs[0] else 1.0)
        return value * scale

    def ms(self, cost: ChannelCost, mask=None) -> float:
        """The modelled time of ``cost``'s layers under ``mask`` (None: nothing pruned; or the
        kept channels per group, as ``ChannelCost.macs`` takes): each layer's interpolated time
        plus one elementwise pass over its output."""
        return sum(self.layer_ms(n, cin, cout) + self.element_ms * cout * cost.layers[n].outputs
                   for n, cin, cout in cost.widths(mask))

    def check_fits(self, cost: ChannelCost) -> None:
        """A ValueError naming the first layer of ``cost`` the table has not timed."""
        for name, layer in cost.layers.items():
            got = self.grids.get(name)
            if got is None or got[0][-1] != layer.cin or got[1][-1] != layer.cout:
                raise ValueError(f'the latency table does not fit this model (layer {name}): '
                                 f'measure it again for this model')

    def state_dict(self) -> dict:
        """Plain values: part of a stage checkpoint."""
        return dict(grids={n: [a, b, ms] for n, (a, b, ms) in self.grids.items()},
                    element_ms=self.element_ms)

    @classmethod
    def from_state(cls, state: dict, source: str = 'the checkpoint') -> 'LatencyTable':
        """The table of :meth:`state_dict` (a ValueError naming ``source`` if it is not one)."""
        try:
            return cls({n: tuple(v) for n, v in state['grids'].items()}, state['element_ms'])
        except (KeyError, TypeError, ValueError, AttributeError):
            raise ValueError(f'{source} holds no latency table (grids, element_ms): pass the '
                             f"latency_table.json a latency-aware stage wrote") from None


def _monotone(ms: List[List[float]]) -> List[List[float]]:
    """The timed grid made non-decreasing in both widths (a wider layer is never modelled as
    faster: timing noise must not make pruning a channel look like a slow-down)."""
    out = [list(r) for r in ms]
    for i in range(len(out)):
        for j in range(len(out[i])):
            out[i][j] = max([out[i][j]] + ([out[i - 1][j]] if i else []) +
                            ([out[i][j - 1]] if j else []))
    return out


def _bracket(widths: Sequence[int], w: int) -> tuple:
    """``(i, f)``: ``w`` lies a fraction ``f`` of the way from ``widths[i]`` to the next."""
    if w <= widths[0] or len(widths) == 1:
        return 0, 0.0
    for i in range(len(widths) - 1):
        if w <= widths[i + 1]:
            return i, (w - widths[i]) / (widths[i + 1] - widths[i])
    return len(widths) - 1, 0.0


def latency_fraction(table: Optional[LatencyTable], cost: ChannelCost, mask) -> Optional[float]:
    """:meth:`LatencyTable.ms` under ``mask`` as a fraction of the unpruned module's (None
    without a table)."""
    if table is None:
        return None
    return table.ms(cost, mask) / table.ms(cost, None)
