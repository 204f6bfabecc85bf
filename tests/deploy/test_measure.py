"""The MACs bisection the channel and deploy benchmarks share (colt_det.deploy.measure)."""
from colt_det.deploy.measure import ratio_for_macs


def test_the_ratio_for_a_macs_level_is_bisected_to_the_nearest_reachable():
    # MACs fall with the ratio, quadratically (channels in and out both shrink)
    ratio, macs = ratio_for_macs(lambda r: (1 - r) ** 2, 0.25)
    assert abs(ratio - 0.5) < 1e-3 and abs(macs - 0.25) < 1e-3
    # a level below what the highest ratio reaches: the highest ratio tried, not a wrong side
    ratio, macs = ratio_for_macs(lambda r: 1 - 0.5 * r, 0.1, high=0.95)
    assert ratio > 0.94 and abs(macs - (1 - 0.5 * ratio)) < 1e-12
    # steps bound the calls
    calls = []
    ratio_for_macs(lambda r: calls.append(r) or 1 - r, 0.5, steps=5)
    assert len(calls) == 5
