"""Paired differences, Holm's correction and the TOST equivalence verdict
(colt_det.report.stats)."""
import statistics

import pytest

from colt_det.report.stats import bootstrap, describe, equivalence, holm, p_value, paired


def test_paired_interval_is_the_t_interval_of_the_per_seed_differences():
    a, b = [0.40, 0.42, 0.38], [0.390, 0.408, 0.369]
    d = paired(a, b)
    diffs = [x - y for x, y in zip(a, b)]
    assert d.mean == pytest.approx(statistics.mean(diffs))
    # t(0.975, 2) = 4.3027
    assert d.half == pytest.approx(4.302653 * statistics.stdev(diffs) / 3 ** 0.5, rel=1e-5)
    assert d.detected  # the seeds move together: paired sees what Welch would not
    from scipy import stats
    welch = stats.ttest_ind(a, b, equal_var=False).pvalue
    assert p_value(a, b) < 0.05 < welch
    assert paired([0.4], [0.3]).half is None and paired([0.4], [0.3]).detected is None
    with pytest.raises(ValueError, match='one value per seed'):
        paired([0.1, 0.2], [0.1])


def test_holm_adjusts_step_down_and_keeps_the_order():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5]) == [0.5]
    assert holm([0.6, 0.6]) == [1.0, 1.0]


@pytest.mark.parametrize('a,b,verdict', [
    ([0.400, 0.410, 0.420], [0.401, 0.409, 0.421], 'within'),  # tight, inside +-1 point
    ([0.300, 0.310, 0.320], [0.400, 0.409, 0.421], 'not within'),  # tight, 10 points below
    ([0.30, 0.45, 0.38], [0.40, 0.40, 0.40], 'not established'),  # too wide to tell
    ([0.40], [0.40], 'not established'),  # one seed
])
def test_within_a_point_is_an_equivalence_statement(a, b, verdict):
    assert equivalence(paired(a, b), 0.01) == verdict


def test_the_mean_alone_does_not_decide_within():
    """A mean inside the margin with an interval reaching past it is not 'within'."""
    d = paired([0.39, 0.40, 0.41], [0.40, 0.40, 0.40])
    assert abs(d.mean) < 0.01 and equivalence(d, 0.01) == 'not established'
    assert 'not established (TOST)' in describe(d, 0.01)
    assert 'paired t, 3 seeds' in describe(d)


def test_bootstrap_interval_brackets_the_mean_difference():
    a, b = [0.40, 0.42, 0.38, 0.41], [0.39, 0.40, 0.37, 0.41]
    lo, hi = bootstrap(a, b)
    assert lo <= paired(a, b).mean <= hi
    assert bootstrap([0.4], [0.3]) is None


def test_verdicts_print_the_bootstrap_beside_the_t_interval():
    """3 seeds or more: the bootstrap interval (in points) is printed beside the t interval
    and brackets the mean; with 2 seeds it is left out."""
    d = paired([0.40, 0.42, 0.41], [0.30, 0.31, 0.30])
    lo, hi = d.boot
    assert f'interval ±{100 * d.half:.1f}; bootstrap [{100 * lo:+.1f}, {100 * hi:+.1f}])' in \
        describe(d)
    assert lo <= d.mean <= hi and hi - lo < 2 * d.half  # narrower than t's with 3 seeds
    assert paired([0.4, 0.41], [0.3, 0.3]).boot is None
    assert 'bootstrap' not in describe(paired([0.4, 0.41], [0.3, 0.3]))


def test_a_block_decides_detected_by_holm_adjusted_p_values():
    """Three comparisons: one whose unadjusted interval excludes 0 but whose Holm-adjusted p
    does not clear 0.05 is reported as not detected (fails if block drops the correction)."""
    from colt_det.report.stats import block
    base = [0.30, 0.31, 0.32]
    near = [0.33, 0.355, 0.345]  # +3.3 points, unadjusted p about 0.03
    far = [0.60, 0.61, 0.62]   # +30 points, constant: p 0
    same = [0.30, 0.32, 0.31]
    assert paired(near, base).detected and p_value(near, base) < 0.05
    lines = block([(near, base, None), (far, base, None), (same, base, 0.01)])
    assert lines[0].startswith('+3.3 points, no difference detected') and \
        'over 3 comparisons' in lines[0], lines[0]
    assert lines[1].startswith('+30.0 points, difference detected')
    assert 'within 1 point: ' in lines[2]
    # one comparison: the interval decides, no Holm note
    assert block([(near, base, None)])[0].startswith('+3.3 points, difference detected')


def test_exceeds_needs_the_whole_interval_past_the_margin():
    from colt_det.report.stats import exceeds
    assert exceeds(paired([0.40, 0.41, 0.42], [0.30, 0.31, 0.32]), 0.05) == 'above'
    assert exceeds(paired([0.31, 0.32, 0.33], [0.30, 0.31, 0.32]), 0.05) == 'not above'
    assert exceeds(paired([0.33, 0.40, 0.36], [0.30, 0.31, 0.32]), 0.05) == 'not established'
    assert exceeds(paired([0.40], [0.30]), 0.05) == 'not established'


def test_over_seeds_averages_each_key_present_in_every_seed_and_reads_both_formats():
    from colt_det.report.stats import over_seeds, seed_values
    runs = [[dict(m='a', metric=0.1, n=1), dict(m='b', metric=0.5, n=2)],
            [dict(m='a', metric=0.3, n=3)],
            [dict(m='a', metric=0.2, n=5, ok=False), dict(m='a', metric=0.2, n=5)]]
    out = over_seeds(runs, lambda r: (r['m'],), ('metric', 'n'),
                     usable=lambda r: r.get('ok', True))
    assert [k for k, _ in out] == [('a',), ('b',)]
    a, b = out[0][1], out[1][1]
    assert b is None  # seeds 1 and 2 have no 'b'
    assert a['per_seed'] == {'metric': [0.1, 0.3, 0.2], 'n': [1, 3, 5]}
    assert a['metric'] == pytest.approx(0.2) and a['metric_std'] == pytest.approx(0.1)
    assert a['n'] == 3 and a['n_std'] == pytest.approx(2.0)
    assert seed_values(a) == [0.1, 0.3, 0.2] and seed_values(a, 'n') == [1, 3, 5]
    assert seed_values(dict(metric=0.4, per_seed=[0.3, 0.5])) == [0.3, 0.5]  # older records
    assert seed_values(dict(metric=0.4)) == [0.4]
