"""Data-driven scores through the pruner's lifecycle: prepare, observe training, score, prune.

Taylor and Fisher are one file (``colt_det/core/data_scores.py``) and one registry entry each;
these tests check what they compute against the same quantities computed by hand, that the
statistics survive a checkpoint, and that a search prunes by them and resumes to the same ticket.
"""
import os.path as osp

import pytest
import torch
from torch import nn

from colt_det.core import Pruner, load_ticket, model_weights, ones_mask
from colt_det.core.channels import channel_keep, channel_param_names, find_channel_groups
from colt_det.core.scores import CHANNEL_SCORES, WEIGHT_SCORES


class _Net(nn.Module):
    """conv1 (3 -> 8) -> BN -> ReLU -> conv2 (8 -> 4) -> mean: one channel group of 8."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 4, 3, padding=1)

    def forward(self, x):
        return self.conv2(torch.relu(self.bn(self.conv1(x))))


def _batches(n: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(2, 3, 6, 6, generator=g), torch.randn(2, 4, 6, 6, generator=g))
            for _ in range(n)]


def _train(net, batches, opt=None):
    for x, t in batches:
        loss = (net(x) - t).pow(2).mean()
        loss.backward()
        if opt is not None:
            opt.step()
        net.zero_grad()  # as MMEngine's optimizer wrapper does after every step


def test_the_data_driven_scores_are_registered_like_any_other():
    assert 'taylor' in WEIGHT_SCORES
    assert {'taylor', 'fisher', 'taylor_macs', 'fisher_macs'} <= set(CHANNEL_SCORES)


def test_weight_taylor_sums_w_times_grad_over_the_iterations_it_observed():
    torch.manual_seed(0)
    net = _Net()
    mask = ones_mask(net, ['conv1.weight', 'conv2.weight'])
    pruner = Pruner('taylor', scope='global')
    pruner.prepare(net, mask)
    batches = _batches(3)
    _train(net, batches)
    pruner.remove()
    _train(net, _batches(2, seed=1))  # removed: no longer observed
    expected = {n: torch.zeros_like(p) for n, p in net.named_parameters() if n in mask}
    for x, t in batches:  # by hand: the same three backward passes
        (net(x) - t).pow(2).mean().backward()
        for n, p in net.named_parameters():
            if n in expected:
                expected[n] += (p.detach() * p.grad).abs()
        net.zero_grad()
    got = pruner.score({n: p for n, p in net.named_parameters() if n in mask}, None)
    for n in expected:
        assert torch.allclose(got[n], expected[n], rtol=1e-5, atol=1e-8)
    # a large weight the loss never sees (its input channel is always zero) goes first
    net2 = _Net()
    with torch.no_grad():
        net2.conv1.weight[:, 0] = 10.0
    pruner = Pruner('taylor')
    one = ones_mask(net2, ['conv1.weight'])
    pruner.prepare(net2, one)
    _train(net2, [(x * torch.tensor([0.0, 1, 1]).view(1, 3, 1, 1), t) for x, t in batches])
    kept = pruner.prune(model_weights(net2), one, 0.34)['conv1.weight']
    assert not kept[:, 0].any()
    assert Pruner("magnitude").prune(model_weights(net2), one, 0.34)['conv1.weight'][:, 0].all()


def _activation_stats(net, batches):
    """By hand: per batch, (sum_hw a * dL/da) of shape (N, C) where conv2 reads a."""
    out = []
    for x, t in batches:
        a = torch.relu(net.bn(net.conv1(x)))
        a.retain_grad()
        (net.conv2(a) - t).pow(2).mean().backward()
        out.append((a.detach() * a.grad).sum((2, 3)))
        net.zero_grad()
    return out


@pytest.mark.parametrize('name', ['taylor', 'fisher', 'taylor_macs', 'fisher_macs'])
def test_channel_taylor_and_fisher_match_the_activation_gradient_products(name):
    torch.manual_seed(0)
    net = _Net()
    groups = find_channel_groups(net, torch.randn(1, 3, 8, 8))
    assert [g.scored for g in groups] == [['conv1.weight']]
    mask = ones_mask(net, channel_param_names(groups))
    pruner = Pruner(name, scope='layer', groups=groups)
    pruner.prepare(net, mask)
    batches = _batches(3)
    _train(net, batches)
    with torch.no_grad():  # evaluation passes are not observed
        net(batches[0][0])
    pruner.remove()
    stats = _activation_stats(net, batches)
    if name.startswith('taylor'):
        expected = sum(s.sum(0).abs() for s in stats)
    else:
        expected = sum(s.pow(2).sum(0) for s in stats)
    if name.endswith('_macs'):  # per forward: conv1's row of one channel + conv2's column
        per_channel = 9 * 3 * 6 * 6 + 9 * 4 * 6 * 6
        expected = expected / (len(batches) * per_channel)
    got = pruner.score(model_weights(net), groups[0])
    assert torch.allclose(got, expected, rtol=1e-4, atol=1e-12)


@pytest.mark.parametrize('name', ['taylor', 'fisher_macs'])
def test_observing_a_step_keeps_no_activation_once_it_is_done(name):
    """A step's activations are freed after its backward while the score observes (the
    gradient hook held its own input once: a reference cycle the collector never freed,
    gigabytes per epoch on det-hard; fails if the hook captures the activation again)."""
    import gc
    import weakref
    torch.manual_seed(0)
    net = _Net()
    groups = find_channel_groups(net, torch.randn(1, 3, 8, 8))
    pruner = Pruner(name, scope='layer', groups=groups)
    pruner.prepare(net, ones_mask(net, channel_param_names(groups)))
    seen = []
    net.conv2.register_forward_hook(lambda m, inputs, out: seen.append(weakref.ref(inputs[0])))
    _train(net, _batches(2))
    gc.collect()
    assert len(seen) == 2 and all(ref() is None for ref in seen)
    assert pruner.score(model_weights(net), groups[0]).abs().sum() > 0  # it did observe
    pruner.remove()


class _Fcs(nn.Module):
    """fc1 (12 -> 8) -> ReLU -> fc2 (8 -> 4): a RoI head's shared FCs, one group of 8."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(12, 8)
        self.fc2 = nn.Linear(8, 4)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


@pytest.mark.parametrize('name', ['taylor', 'fisher', 'fisher_macs'])
def test_linear_groups_score_per_row_like_a_conv_per_sample(name):
    """A RoI head's FCs (whole-detector groups): every row (RoI) is a sample, its cost the
    layers' weights one feature meets per row."""
    torch.manual_seed(0)
    net = _Fcs()
    groups = find_channel_groups(net, torch.randn(5, 12), linear=True)
    assert [g.scored for g in groups] == [['fc1.weight']]
    assert find_channel_groups(net, torch.randn(5, 12)) == []  # convs only without linear
    pruner = Pruner(name, scope='layer', groups=groups)
    pruner.prepare(net, ones_mask(net, channel_param_names(groups)))
    g = torch.Generator().manual_seed(1)
    batches = [(torch.randn(6, 12, generator=g), torch.randn(6, 4, generator=g))
               for _ in range(3)]
    _train(net, batches)
    pruner.remove()
    stats = []
    for x, t in batches:
        a = torch.relu(net.fc1(x))
        a.retain_grad()
        (net.fc2(a) - t).pow(2).mean().backward()
        stats.append(a.detach() * a.grad)
        net.zero_grad()
    if name == 'taylor':
        expected = sum(s.sum(0).abs() for s in stats)
    else:
        expected = sum(s.pow(2).sum(0) for s in stats)
    if name.endswith('_macs'):  # per row (no conv says what an image is): fc1's 12 inputs
        expected = expected / (len(batches) * (12 + 4))  # and fc2's 4 outputs
    got = pruner.score(model_weights(net), groups[0])
    assert torch.allclose(got, expected, rtol=1e-4, atol=1e-12)


class _ConvRows(nn.Module):
    """conv (3 -> 8) -> BN -> ReLU -> conv (8 -> 4), then every position a row (a RoI head's
    rows, grouped by image) -> fc1 (4 -> 6) -> ReLU -> fc2 (6 -> 2)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = _Net()
        self.fc1 = nn.Linear(4, 6)
        self.fc2 = nn.Linear(6, 2)

    def rows(self, x):
        y = self.conv(x)
        return y.flatten(2).transpose(1, 2).reshape(-1, 4)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(self.rows(x))))


def test_a_linear_groups_fisher_is_per_image_where_convs_say_what_an_image_is():
    """Rows of one image are summed before squaring (as a conv's positions are) and a
    channel's cost is its MACs per image: the RoI head's FCs rank on the backbone's scale."""
    torch.manual_seed(0)
    net = _ConvRows()
    example = torch.randn(2, 3, 4, 4)
    groups = find_channel_groups(net, example, linear=True)  # the conv's group says N
    assert sorted(g.scored[0] for g in groups) == ['conv.conv1.weight', 'conv.conv2.weight',
                                                   'fc1.weight']
    fc = next(g for g in groups if g.scored == ['fc1.weight'])
    pruner = Pruner('fisher_macs', scope='layer', groups=groups)
    pruner.prepare(net, ones_mask(net, channel_param_names(groups)))
    g = torch.Generator().manual_seed(1)
    batches = [(torch.randn(2, 3, 4, 4, generator=g), torch.randn(2 * 16, 2, generator=g))
               for _ in range(3)]
    _train(net, batches)
    pruner.remove()
    expected = 0
    for x, t in batches:
        a = torch.relu(net.fc1(net.rows(x)))
        a.retain_grad()
        (net.fc2(a) - t).pow(2).mean().backward()
        per_image = (a.detach() * a.grad).view(2, 16, 6).sum(1)  # 16 rows of each image
        expected = expected + per_image.pow(2).sum(0)
        net.zero_grad()
    expected = expected / (len(batches) * (4 + 2) * 16)  # fc1's and fc2's MACs per image
    got = pruner.score(model_weights(net), fc)
    assert torch.allclose(got, expected, rtol=1e-4, atol=1e-12)


def test_a_channel_the_loss_ignores_goes_first_whatever_its_filter_norm():
    torch.manual_seed(0)
    net = _Net()
    with torch.no_grad():
        net.conv1.weight[0] *= 20  # the largest L1 filter ...
        net.conv2.weight[:, 0] = 0  # ... whose channel nothing reads
    groups = find_channel_groups(net, torch.randn(1, 3, 8, 8))
    mask = ones_mask(net, channel_param_names(groups))
    for name in ('fisher', 'taylor'):
        pruner = Pruner(name, scope='layer', groups=groups)
        pruner.prepare(net, mask)
        _train(net, _batches(2))
        pruner.remove()
        assert not channel_keep(pruner.prune(model_weights(net), mask, 0.25), groups[0])[0]
    assert channel_keep(Pruner('l1', scope='layer', groups=groups).prune(
        model_weights(net), mask, 0.25), groups[0])[0]


def test_a_group_no_gradient_reaches_is_never_pruned():
    net = _Net()
    groups = find_channel_groups(net, torch.randn(1, 3, 8, 8))
    for p in list(net.conv1.parameters()) + list(net.bn.parameters()):
        p.requires_grad_(False)  # frozen: conv2's input needs no gradient
    mask = ones_mask(net, channel_param_names(groups))
    pruner = Pruner('fisher', scope='layer', groups=groups)
    pruner.prepare(net, mask)
    _train(net, _batches(2))
    assert torch.isinf(pruner.score(model_weights(net), groups[0])).all()


@pytest.mark.parametrize('name,channels', [('taylor', False), ('fisher_macs', True)])
def test_statistics_carried_through_a_checkpoint_score_as_if_uninterrupted(name, channels):
    def run(split: bool):
        torch.manual_seed(0)
        net = _Net()
        groups = find_channel_groups(net, torch.randn(1, 3, 8, 8)) if channels else None
        mask = ones_mask(net, channel_param_names(groups) if channels else ['conv1.weight'])
        opt = torch.optim.SGD(net.parameters(), lr=0.1)
        batches = _batches(4)
        pruner = Pruner(name, groups=groups)
        pruner.prepare(net, mask)
        if split:  # a checkpoint after 2 batches, a new process goes on from it
            _train(net, batches[:2], opt)
            state = {k: v.clone() for k, v in pruner.state_dict().items()}
            pruner.remove()
            pruner = Pruner(name, groups=groups)
            pruner.prepare(net, mask)
            pruner.load_state_dict(state)
            _train(net, batches[2:], opt)
        else:
            _train(net, batches, opt)
        return pruner.state_dict()
    whole, resumed = run(False), run(True)
    assert whole and set(whole) == set(resumed)
    assert all(torch.allclose(whole[k], resumed[k]) for k in whole)


def test_one_shot_refuses_a_score_that_needs_training(cls_data, tmp_path):
    from colt_det.search import ColtSearch

    from conftest import cls_config
    with pytest.raises(ValueError, match="channel_score='fisher' observes training"):
        ColtSearch(cls_config(cls_data, str(tmp_path), method='oneshot', granularity='channel',
                              channel_score='fisher'))


def test_a_fisher_channel_search_killed_mid_stage_resumes_to_the_same_ticket(
        cls_data, tmp_path, monkeypatch):
    """The statistics are part of the stage checkpoint: a resumed stage scores with every
    batch of the stage, not only those after the kill."""
    from conftest import cls_config, dumped, killed_and_resumed

    def cfg(work):
        c = cls_config(cls_data, work, method='imp', num_partitions=1, granularity='channel',
                       prune_scope='global', channel_score='fisher', target_sparsity=0.3,
                       prune_ratio=0.3, max_rounds=1, final_train=False, progress_interval=0)
        c.train_cfg = dict(by_epoch=True, max_epochs=3, val_interval=3)
        return dumped(c, tmp_path, work)
    ref, work = killed_and_resumed(cfg, tmp_path, monkeypatch)
    a = load_ticket(osp.join(ref, 'tickets', 'round_01.safetensors')).masks
    b = load_ticket(osp.join(work, 'tickets', 'round_01.safetensors')).masks
    assert set(a) == set(b) and all(torch.equal(a[k], b[k]) for k in a)
    assert 0 < sum(int((~m).sum()) for m in a.values())  # it pruned
