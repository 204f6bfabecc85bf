"""The latency table (``colt_det.core.latency``): measured layer times at a grid of widths, the
modelled time of a channel mask, and latency-aware ranking in progressive pruning."""
import pytest
import torch
from torch import nn

from colt_det.core import ones_mask
from colt_det.core.channel_cost import ChannelCost
from colt_det.core.channels import (
    channel_keep,
    channel_mask,
    channel_param_names,
    find_channel_groups,
)
from colt_det.core.latency import LatencyTable, latency_fraction
from colt_det.core.scores import ChannelScore


def _net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
                         nn.Conv2d(32, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
                         nn.Conv2d(32, 8, 1)).eval()


def _cost(net, size=32):
    groups = find_channel_groups(net, torch.randn(1, 3, size, size))
    return ChannelCost(net, torch.randn(1, 3, size, size), groups), groups


def test_a_latency_table_interpolates_between_its_timed_widths():
    table = LatencyTable({'a': ([8, 16], [8, 32], [[1.0, 3.0], [2.0, 8.0]])}, 0.0)
    assert table.layer_ms('a', 8, 8) == 1.0 and table.layer_ms('a', 16, 32) == 8.0
    assert table.layer_ms('a', 12, 8) == pytest.approx(1.5)
    assert table.layer_ms('a', 8, 20) == pytest.approx(2.0)
    assert table.layer_ms('a', 12, 20) == pytest.approx((1 + 3 + 2 + 8) / 4)
    assert table.layer_ms('a', 4, 8) == pytest.approx(0.5)  # below one block: towards zero
    back = LatencyTable.from_state(table.state_dict())
    assert back.grids == table.grids and back.element_ms == table.element_ms


def test_a_measured_table_times_every_layer_and_a_narrower_mask_costs_less():
    net = _net()
    cost, groups = _cost(net)
    table = LatencyTable.measure(cost, divisor=8, points=2, runs=2)
    assert set(table.grids) == set(cost.layers)
    for name, (ins, outs, ms) in table.grids.items():
        assert ins[-1] == cost.layers[name].cin and outs[-1] == cost.layers[name].cout
        assert all(v > 0 for row in ms for v in row)
        # wider is never modelled as faster, whatever the timing noise
        assert all(ms[i][j] <= ms[i + 1][j] for i in range(len(ins) - 1)
                   for j in range(len(outs)))
        assert all(ms[i][j] <= ms[i][j + 1] for i in range(len(ins))
                   for j in range(len(outs) - 1))
    prunable = [n for n in cost.layers if n in cost.out_of]
    assert prunable and all(len(table.grids[n][1]) > 1 for n in prunable)
    keeps = [torch.arange(g.channels) < 8 for g in groups]
    mask = channel_mask(ones_mask(net, channel_param_names(groups)), groups, keeps)
    assert 0 < latency_fraction(table, cost, mask) < 1
    assert latency_fraction(None, cost, mask) is None
    table.check_fits(cost)
    other, _ = _cost(nn.Sequential(nn.Conv2d(3, 16, 3), nn.ReLU(), nn.Conv2d(16, 8, 1)))
    with pytest.raises(ValueError, match='the latency table does not fit this model'):
        table.check_fits(other)


class _Equal(ChannelScore):
    """A channel score that finds every channel equally important."""

    def __call__(self, weights, group):
        return torch.ones(group.channels)


def _hook(normalize, table=None):
    from colt_det.core import Pruner
    from colt_det.hooks.progressive_hook import ProgressiveChannelHook
    net = _net()
    cost, groups = _cost(net)
    hook = ProgressiveChannelHook(divisor=8, normalize=normalize)
    hook.groups, hook.cost, hook.table = groups, cost, table
    hook.mask = ones_mask(net, channel_param_names(groups))
    hook.pruner = Pruner(_Equal(), 'global', groups=groups)
    return hook, net, groups


def test_latency_normalised_progressive_pruning_removes_what_costs_time_first():
    """Equal scores: with ``normalize='latency'`` the block whose layers the table times as
    slow goes first; without normalisation the first group does (stable order)."""
    hook, net, groups = _hook(None)
    assert len(groups) == 2
    names = list(hook.cost.layers)
    weights = dict(net.named_parameters())
    first = hook._prune_to(weights, hook.cost.fraction(None) - 1e-6)
    assert [int(channel_keep(first, g).sum()) for g in groups] == [24, 32]
    slow = {n: ([hook.cost.layers[n].cin], [hook.cost.layers[n].cout], [[1.0]])
            for n in names}
    # the second group's producer: time grows with its output width
    producer = next(n for n in names if hook.cost.out_of.get(n) == 1)
    slow[producer] = ([hook.cost.layers[producer].cin], [8, 32], [[1.0, 100.0]])
    hook, net, groups = _hook('latency', LatencyTable(slow, 0.0))
    second = hook._prune_to(weights, hook.cost.fraction(None) - 1e-6)
    assert [int(channel_keep(second, g).sum()) for g in groups] == [32, 24]


def test_the_latency_table_is_part_of_the_checkpoint_and_not_measured_again(monkeypatch):
    from colt_det.hooks.progressive_hook import ProgressiveChannelHook
    hook, _, _ = _hook('latency', LatencyTable({'x': ([1], [1], [[2.5]])}, 1e-7))
    hook.history = []
    checkpoint = {}
    hook.before_save_checkpoint(None, checkpoint)
    import io
    buffer = io.BytesIO()  # through a checkpoint file, loaded as MMEngine's resume loads it
    torch.save(checkpoint, buffer)
    buffer.seek(0)
    checkpoint = torch.load(buffer, weights_only=True)
    resumed = ProgressiveChannelHook(divisor=8, normalize='latency')
    resumed.after_load_checkpoint(None, checkpoint)
    assert resumed.table.grids == hook.table.grids
    assert resumed.table.element_ms == hook.table.element_ms
    # the resumed stage starts training with the saved table: nothing is timed again
    import logging
    from types import SimpleNamespace

    from colt_det.hooks import progressive_hook
    net = _net()
    cost, groups = _cost(net)
    resumed.table = LatencyTable.measure(cost, divisor=8, points=1, runs=1)
    saved = resumed.table.state_dict()
    monkeypatch.setattr(progressive_hook, 'channel_groups', lambda model, depth: groups)
    monkeypatch.setattr(progressive_hook, 'channel_cost', lambda *a: cost)

    def measure(*a, **k):
        raise AssertionError('measured again')
    monkeypatch.setattr(LatencyTable, 'measure', measure)
    runner = SimpleNamespace(model=net, max_iters=10, rank=0, logger=logging.getLogger('t'))
    resumed.before_train(runner)
    assert resumed.table.state_dict() == saved
    fresh = ProgressiveChannelHook(divisor=8, normalize='latency')
    with pytest.raises(AssertionError, match='measured again'):
        fresh.before_train(runner)  # a fresh stage does time its layers


def test_a_latency_target_prunes_until_the_modelled_time_is_reached():
    """``target_latency``: the MACs goal alone removes nothing here; the modelled-time goal
    removes blocks until the table's time is at most that fraction of dense's."""
    hook, net, groups = _hook('latency')
    names = list(hook.cost.layers)
    grids = {n: ([hook.cost.layers[n].cin], [hook.cost.layers[n].cout], [[1.0]])
             for n in names}
    producer = next(n for n in names if hook.cost.out_of.get(n) == 1)
    grids[producer] = ([hook.cost.layers[producer].cin], [8, 32], [[1.0, 10.0]])
    hook.table = LatencyTable(grids, 0.0)
    weights = dict(net.named_parameters())
    same = hook._prune_to(weights, 1.0)  # the MACs goal is met already
    assert all(torch.equal(same[n], hook.mask[n]) for n in hook.mask)
    mask = hook._prune_to(weights, 1.0, 0.8)
    frac = latency_fraction(hook.table, hook.cost, mask)
    assert frac <= 0.8
    widths = [int(channel_keep(mask, g).sum()) for g in groups]
    assert widths[1] < 32  # the slow group lost channels
    # and not one block more than the goal needed
    assert latency_fraction(hook.table, hook.cost, [widths[0], widths[1] + 8]) > 0.8


def test_a_measured_table_is_written_once_and_a_given_one_is_used_instead_of_timing(
        tmp_path, monkeypatch):
    """A fresh latency-aware stage writes its table (never over an existing file); a stage
    given that file ranks with it and times nothing; a file that is no table is one line."""
    import logging
    from types import SimpleNamespace

    from colt_det.hooks import progressive_hook
    from colt_det.hooks.progressive_hook import ProgressiveChannelHook
    net = _net()
    cost, groups = _cost(net)
    monkeypatch.setattr(progressive_hook, 'channel_groups', lambda model, depth: groups)
    monkeypatch.setattr(progressive_hook, 'channel_cost', lambda *a: cost)
    runner = SimpleNamespace(model=net, max_iters=10, rank=0, logger=logging.getLogger('t'))
    out = tmp_path / 'latency_table.json'
    first = ProgressiveChannelHook(divisor=8, normalize='latency', out_table=str(out))
    first.before_train(runner)
    assert out.exists()
    written = out.read_bytes()
    again = ProgressiveChannelHook(divisor=8, normalize='latency', out_table=str(out))
    again.before_train(runner)
    assert out.read_bytes() == written  # never overwritten

    def measure(*a, **k):
        raise AssertionError('measured again')
    monkeypatch.setattr(LatencyTable, 'measure', measure)
    given = ProgressiveChannelHook(divisor=8, normalize='latency', latency_table=str(out))
    given.before_train(runner)
    assert given.table.state_dict() == first.table.state_dict()
    bad = tmp_path / 'bad.json'
    bad.write_text('{"rows": []}')
    with pytest.raises(ValueError, match='bad.json holds no latency table'):
        ProgressiveChannelHook(divisor=8, normalize='latency',
                               latency_table=str(bad)).before_train(runner)
