"""Mask core: pruning amounts, set algebra, rewinding, enforcement, determinism (pure torch)."""
import copy

import pytest
import torch
from torch import nn

from colt_det.core import (
    MaskEnforcer,
    PrunableSpec,
    apply_mask,
    intersect,
    is_subset,
    magnitude_prune,
    ones_mask,
    overlap_report,
    partition_classes,
    random_mask_like,
    rewind,
    sparsity,
    state_of,
    vote,
)


class Net(nn.Module):

    def __init__(self) -> None:
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(),
                                      nn.Conv2d(8, 16, 3))
        self.head = nn.Linear(16, 4)

    def forward(self, x):
        return self.head(self.backbone(x).mean((2, 3)))


def make_net(seed=0) -> Net:
    torch.manual_seed(seed)
    return Net()


def conv_mask(net):
    return ones_mask(net, PrunableSpec().select(net))


def test_prunable_selection_defaults_and_patterns():
    net = make_net()
    assert PrunableSpec().select(net) == ['backbone.0.weight', 'backbone.3.weight']
    assert PrunableSpec(linear=True).select(net)[-1] == 'head.weight'
    assert PrunableSpec(norm=True).select(net) == [
        'backbone.0.weight', 'backbone.1.weight', 'backbone.3.weight']
    assert PrunableSpec(exclude=['backbone.0.*']).select(net) == ['backbone.3.weight']
    with pytest.raises(ValueError, match='no prunable parameters'):
        PrunableSpec(include=['neck.*']).select(net)
    with pytest.raises(ValueError, match='unknown prunable option'):
        PrunableSpec.from_cfg(dict(convs=True))


@pytest.mark.parametrize('scope', ['global', 'layer'])
def test_magnitude_prune_removes_fraction_of_remaining(scope):
    net = make_net()
    mask = conv_mask(net)
    params = dict(net.named_parameters())
    weights = {k: params[k] for k in mask}
    total = sum(m.numel() for m in mask.values())
    m1 = magnitude_prune(weights, mask, 0.2, scope)
    assert is_subset(m1, mask)
    if scope == 'global':
        assert int(sum(m.sum() for m in m1.values())) == total - round(0.2 * total)
    else:
        for k in mask:  # each layer loses 20% of its own weights
            assert int(m1[k].sum()) == mask[k].numel() - round(0.2 * mask[k].numel())
    m2 = magnitude_prune(weights, m1, 0.5, scope)
    alive1 = int(sum(m.sum() for m in m1.values()))
    alive2 = int(sum(m.sum() for m in m2.values()))
    assert abs(alive2 - alive1 / 2) <= len(mask)  # 50% of the *remaining*, up to rounding
    assert is_subset(m2, m1)


def test_magnitude_prune_drops_smallest():
    w = {'a': torch.tensor([0.1, -5.0, 0.3, 2.0, -0.05])}
    m = magnitude_prune(w, {'a': torch.ones(5, dtype=torch.bool)}, 0.4)
    assert m['a'].tolist() == [False, True, True, True, False]


def test_prune_ratio_validated():
    w = {'a': torch.ones(4)}
    for bad in (0.0, 1.0, -0.1, 1.5):
        with pytest.raises(ValueError, match=r'prune_ratio must be in \(0, 1\)'):
            magnitude_prune(w, {'a': torch.ones(4, dtype=torch.bool)}, bad)


def test_intersection_union_vote_and_overlap():
    a = {'w': torch.tensor([1, 1, 0, 0], dtype=torch.bool)}
    b = {'w': torch.tensor([1, 0, 1, 0], dtype=torch.bool)}
    c = {'w': torch.tensor([1, 1, 1, 0], dtype=torch.bool)}
    assert intersect([a, b])['w'].tolist() == [True, False, False, False]
    assert vote([a, b], 1)['w'].tolist() == [True, True, True, False]  # the union
    assert vote([a, b, c], 2)['w'].tolist() == [True, True, True, False]
    assert vote([a, b, c], 3)['w'].tolist() == intersect([a, b, c])['w'].tolist()
    assert is_subset(intersect([a, b]), a) and is_subset(intersect([a, b]), b)
    rep = overlap_report([a, b])
    assert rep['mean_jaccard'] == pytest.approx(1 / 3)
    assert rep['per_layer']['w'] == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match='different keys'):
        intersect([a, {'v': a['w']}])


def test_sparsity_report():
    mask = {'backbone.a': torch.tensor([1, 0, 0, 0], dtype=torch.bool),
            'neck.b': torch.tensor([1, 1], dtype=torch.bool)}
    rep = sparsity(mask)
    assert rep.overall == pytest.approx(3 / 6)
    assert rep.per_layer == {'backbone.a': 0.75, 'neck.b': 0.0}
    assert rep.per_component == {'backbone': 0.75, 'neck': 0.0}


def test_random_mask_keeps_per_layer_sparsity_and_differs():
    net = make_net()
    mask = conv_mask(net)
    params = dict(net.named_parameters())
    pruned = magnitude_prune({k: params[k] for k in mask}, mask, 0.7)
    rnd = random_mask_like(pruned, torch.Generator().manual_seed(1))
    for k in pruned:
        assert int(rnd[k].sum()) == int(pruned[k].sum())
    assert any(not torch.equal(rnd[k], pruned[k]) for k in pruned)


def test_rewind_restores_theta0_and_masks():
    net = make_net()
    theta0 = state_of(net)
    mask = conv_mask(net)
    mask['backbone.0.weight'].view(-1)[:10] = False
    with torch.no_grad():
        for p in net.parameters():
            p.add_(1.0)
    skipped = rewind(net, theta0, mask, required=list(mask))
    assert skipped == []
    w = net.backbone[0].weight.detach().flatten()
    assert torch.all(w[:10] == 0)
    assert torch.equal(w[10:], theta0['backbone.0.weight'].flatten()[10:])
    assert torch.equal(net.head.weight, theta0['head.weight'])


def test_rewind_skips_mismatched_head_but_requires_prunable():
    net = make_net()
    theta0 = state_of(net)
    theta0['head.weight'] = torch.zeros(7, 16)
    assert 'head.weight' in rewind(net, theta0)
    del theta0['backbone.3.weight']
    with pytest.raises(ValueError, match='cannot rewind 1 required'):
        rewind(net, theta0, required=['backbone.3.weight'])


@pytest.mark.parametrize('opt', ['sgd', 'adamw'])
def test_enforcement_keeps_pruned_weights_exactly_zero(opt):
    net = make_net()
    mask = conv_mask(net)
    params = dict(net.named_parameters())
    mask = magnitude_prune({k: params[k] for k in mask}, mask, 0.6)
    apply_mask(net, mask)
    if opt == 'sgd':
        optim = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-2)
    else:
        optim = torch.optim.AdamW(net.parameters(), lr=0.01, weight_decay=1e-2)
    enforcer = MaskEnforcer(net, mask)
    for step in range(5):
        loss = net(torch.randn(4, 3, 8, 8)).pow(2).sum()
        optim.zero_grad()
        loss.backward()
        optim.step()
        # without enforcement momentum/weight decay move pruned weights off zero
        if step == 0:
            moved = any(bool((params[k].detach()[~m] != 0).any()) for k, m in mask.items())
            assert moved
        enforcer.step()
        for k, m in mask.items():
            assert torch.all(params[k].detach()[~m] == 0), (step, k)
            assert bool((params[k].detach()[m] != 0).all())  # survivors still train


def test_determinism_same_seed_same_mask():
    def run():
        net = make_net(3)
        mask = conv_mask(net)
        params = dict(net.named_parameters())
        return magnitude_prune({k: params[k] for k in mask}, mask, 0.3)
    a, b = run(), run()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_deepcopy_and_state_dict_keys_unchanged():
    net = make_net()
    mask = conv_mask(net)
    keys = list(net.state_dict())
    apply_mask(net, mask)
    MaskEnforcer(net, mask).step()
    assert list(copy.deepcopy(net).state_dict()) == keys


def test_partition_classes_schemes_and_errors():
    classes = [f'c{i}' for i in range(5)]
    assert partition_classes(classes, 2) == [['c0', 'c1', 'c2'], ['c3', 'c4']]
    assert partition_classes(classes, 1) == [classes]
    rnd = partition_classes(classes, 2, 'random', seed=1)
    assert sorted(sum(rnd, [])) == classes and rnd == partition_classes(classes, 2, 'random', 1)
    assert partition_classes(classes, 2, 'explicit', groups=[[4, 'c0'], ['c1', 'c2', 'c3']]) \
        == [['c0', 'c4'], ['c1', 'c2', 'c3']]
    with pytest.raises(ValueError, match=r'num_partitions=6 > number of classes \(5\)'):
        partition_classes(classes, 6)
    with pytest.raises(ValueError, match='num_partitions must be an integer >= 1'):
        partition_classes(classes, 0)
    with pytest.raises(ValueError, match='exactly one partition'):
        partition_classes(classes, 2, 'explicit', groups=[['c0', 'c1'], ['c1', 'c2']])
    with pytest.raises(ValueError, match='unknown classes'):
        partition_classes(classes, 2, 'explicit', groups=[['c0', 'zz'], ['c1']])


def test_movement_score_prunes_the_weights_training_moved_least():
    from colt_det.core.pruning import prune_by_score
    from colt_det.core.scores import weight_score
    theta0 = {'w': torch.tensor([[3.0, -2.0, 0.5, 1.0]])}
    trained = {'w': torch.tensor([[3.1, -0.5, 0.4, 2.5]])}  # moved by 0.1, 1.5, 0.1, 1.5
    ones = {'w': torch.ones(1, 4, dtype=torch.bool)}
    kept = {score: prune_by_score(weight_score(score)(trained, theta0), ones, 0.5)['w']
            .flatten().tolist() for score in ('magnitude', 'movement')}
    assert kept['magnitude'] == [True, False, False, True]  # |w|: 3.1 and 2.5 stay
    assert kept['movement'] == [False, True, False, True]  # moved 1.5: -0.5 and 2.5 stay
