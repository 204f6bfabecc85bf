"""Property tests of the mask core's invariants (hypothesis)."""
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from colt_det.core import intersect, is_subset, magnitude_prune, sparsity, vote

shapes = st.lists(st.tuples(st.integers(1, 6), st.integers(1, 9)), min_size=1, max_size=4)


def _weights(seed, dims):
    g = torch.Generator().manual_seed(seed)
    return {f'l{i}.weight': torch.randn(*d, generator=g) for i, d in enumerate(dims)}


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), dims=shapes, n_parts=st.integers(1, 4),
       ratio=st.floats(0.05, 0.9), rounds=st.integers(1, 4),
       scope=st.sampled_from(['global', 'layer']))
def test_colt_rounds_invariants(seed, dims, n_parts, ratio, rounds, scope):
    """Sparsity never decreases, the COLT mask is a subset of every partition mask, keys stay."""
    base = _weights(seed, dims)
    mask = {k: torch.ones_like(v, dtype=torch.bool) for k, v in base.items()}
    keys = set(mask)
    prev = 0.0
    for r in range(rounds):
        parts = []
        for i in range(n_parts):  # each partition "trains" to different weights
            g = torch.Generator().manual_seed(seed + 97 * r + i)
            trained = {k: v + 0.5 * torch.randn(v.shape, generator=g) for k, v in base.items()}
            p = magnitude_prune(trained, mask, ratio, scope)
            assert is_subset(p, mask)
            parts.append(p)
        new = intersect(parts)
        assert set(new) == keys
        assert all(is_subset(new, p) for p in parts)
        assert is_subset(new, vote(parts, 1))
        s = sparsity(new).overall
        assert s >= prev
        prev, mask = s, new


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), ratio=st.floats(0.1, 0.9), momentum=st.floats(0.0, 0.99),
       wd=st.floats(0.0, 0.1), steps=st.integers(1, 6))
def test_pruned_weights_zero_after_every_step(seed, ratio, momentum, wd, steps):
    from colt_det.core import MaskEnforcer, apply_mask
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Conv2d(2, 4, 3), torch.nn.ReLU(), torch.nn.Conv2d(4, 3, 1))
    names = ['0.weight', '2.weight']
    params = dict(net.named_parameters())
    mask = magnitude_prune({n: params[n] for n in names},
                           {n: torch.ones_like(params[n], dtype=torch.bool) for n in names}, ratio)
    apply_mask(net, mask)
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=momentum, weight_decay=wd)
    enforcer = MaskEnforcer(net, mask)
    for _ in range(steps):
        opt.zero_grad()
        net(torch.randn(2, 2, 6, 6)).square().mean().backward()
        opt.step()
        enforcer.step()
        for n, m in mask.items():
            assert torch.all(params[n].detach()[~m] == 0)
