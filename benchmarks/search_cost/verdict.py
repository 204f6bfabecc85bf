"""The tables and verdicts the script prints (and the docs quote); thresholds are data."""
import statistics
from typing import List

from colt_det.report.stats import seed_values

from .stats import _difference, _values


def table(result: dict) -> str:
    # results with the whole cost (all stages and the final training) get its two columns
    cost = any(r.get('total_samples') is not None for r in result['rows'])
    extra = ' images, all stages | seconds, all stages |' if cost else ''
    lines = [f"p={result['prune_ratio']}, matched IMP rate {result['matched_rate']}, "
             f"theta0 {result['theta0_sha256']}",
             '| method | target | round | sparsity | train samples | search s |' + extra +
             ' metric | min layer density | collapsed layers | mean Jaccard |',
             '|---|---|---|---|---|---|' + ('---|---|' if cost else '') + '---|---|---|---|']
    for r in result['rows']:
        if not r['reached']:
            lines.append(f"| {r['method']} | {r['target']:.0%} | not reached | | | |"
                         + (' | |' if cost else '') + ' | | | |')
            continue
        totals = (f" {r['total_samples']:.0f} | {r['total_seconds']:.0f} |"
                  if cost and r.get('total_samples') is not None else (' - | - |' if cost else ''))
        lines.append(
            f"| {r['method']} | {r['target']:.0%} | {r['round']} | {r['sparsity']:.2%} | "
            f"{r['samples']:.0f} | {r['seconds']:.0f} |{totals} "
            f"{_f(r['metric'], r.get('metric_std'))} | "
            f"{r['min_layer_density']:.3f} | {len(r['collapsed_layers'])} | "
            f"{'-' if r['mean_jaccard'] is None else format(r['mean_jaccard'], '.3f')} |")
    if result['dense']:
        dense = result['dense']
        lines.append(f"dense reference: metric {_f(dense['metric'], dense.get('metric_std'))}")
    if result.get('pretrained'):
        pre = result['pretrained']
        lines.append(f"pretrained theta0 ({pre['config']}, {pre['sha256']}): test metric "
                     f"{_f(pre['metric'])}")
    if result.get('dense_scratch'):
        lines.append(f"dense from a random theta0: metric "
                     f"{_f(result['dense_scratch']['metric'])}")
    return '\n'.join(lines)


def _f(v, std=None) -> str:
    if v is None:
        return 'n/a'
    return f'{v:.4f}' if std is None else f'{v:.4f} ± {std:.4f}'


def _versus(a: dict, b: dict, margin: float):
    """Is row ``a``'s metric more than ``margin`` above ``b``'s? ``(ok, how)``: with several
    seeds the paired interval decides (True, False, or None: not established); with one seed
    the means do, and ``how`` says so."""
    from colt_det.report.stats import describe, exceeds, paired
    diff = paired(_values(a), _values(b))
    how = describe(diff)
    if diff.half is None:
        return a['metric'] - b['metric'] > margin, how + ', decided on the means'
    state = exceeds(diff, margin)
    return {'above': True, 'not above': False}.get(state), how


def _row(result, method, target):
    return next((r for r in result['rows'] if r['method'] == method and r['target'] == target
                 and r['reached']), None)


# what COLT set out to show (issue #13), checked at the 89% point: the thresholds are data
GOALS = dict(rounds=0.7,  # COLT needs at most this share of IMP's rounds
             seconds=0.75,  # ... and of its search time
             within_imp=0.01,  # COLT's metric at most this far below IMP's
             above_random=0.01,  # COLT at least this far above random masks
             random_below_imp=0.05)  # the benchmark tells masks apart: random this far below


def verdict(result: dict, goals: dict = GOALS) -> str:
    """The goals, checked at the 89% point (or the highest target of the task). A metric goal
    is MET when the paired interval of the difference clears its margin, MISS when it lies
    wholly on the wrong side, OPEN otherwise (with one seed the means decide, and say so)."""
    t = 0.89 if 0.89 in result['targets'] else max(result['targets'])
    colt, imp = _row(result, 'colt-N2', t), _row(result, 'imp', t)
    if not colt or not imp:
        return f'verdict: colt-N2 or imp did not reach {t:.0%}'
    rnd = _row(result, 'random', t)
    checks = [
        (f"COLT rounds <= {goals['rounds']:g} x IMP rounds to {t:.0%}",
         colt['round'] <= goals['rounds'] * imp['round'],
         f"{colt['round']} vs {imp['round']} ({colt['round'] / imp['round']:.2f}x)"),
        (f"COLT search time <= {goals['seconds']:g} x IMP to {t:.0%}",
         colt['seconds'] <= goals['seconds'] * imp['seconds'],
         f"{colt['seconds']:.0f} s vs {imp['seconds']:.0f} s "
         f"({colt['seconds'] / imp['seconds']:.2f}x)"),
    ]
    metric_checks = [(f"COLT metric within {_points(goals['within_imp'])} of IMP (non-inferior)",
                      colt, imp, -goals['within_imp'])]
    if rnd:
        metric_checks += [
            (f"COLT well above random (> {_points(goals['above_random'])})", colt, rnd,
             goals['above_random']),
            (f"the benchmark can tell masks apart: random >= "
             f"{_points(goals['random_below_imp'])} below IMP", imp, rnd,
             goals['random_below_imp'])]
    for name, a, b, margin in metric_checks:
        ok, how = _versus(a, b, margin)
        checks.append((name, ok, f"{a['metric']:.4f} vs {b['metric']:.4f}: {how}"))
    label = {True: 'MET ', False: 'MISS', None: 'OPEN'}
    return '\n'.join(f'{label[ok]} {name}: {detail}' for name, ok, detail in checks)


def _points(x: float) -> str:
    n = round(100 * x)
    return f"{n} point{'s' if n != 1 else ''}"


# COLT and IMP with the same round schedule: the pairs the verdicts compare at equal budget
PAIRS = [('colt-N2', 'imp', 'short rounds'), ('colt-N2-full', 'imp-full', 'full rounds'),
         ('colt-N2-early', 'imp-early', 'early-stopped rounds'),
         ('colt-N2-full-guard', 'imp-full-guard', 'full rounds, guard')]
WITHIN = 0.01  # "as good as dense": within 1 point of mAP
def verdicts(result: dict) -> List[str]:
    """Per target: the cheapest method (images processed, all stages and the final training)
    shown within a point of dense by TOST on its paired interval (else the best one, with
    the equivalence verdict it gets), and COLT vs IMP at equal budget per round schedule,
    paired and Holm-adjusted over the target's pairs."""
    from colt_det.report.stats import block, equivalence, paired
    lines = []
    dense = result.get('dense')
    dense_values = seed_values(dense) if dense else None
    for t in result['targets']:
        rows = [r for r in result['rows'] if r['target'] == t and r['reached']
                and r.get('total_samples') is not None and r['metric'] is not None]
        if not rows:
            continue
        if dense_values:
            n = len(dense_values)
            ref = f"dense {statistics.mean(dense_values):.4f} (TOST, {n} seed{'s' * (n > 1)})"
            good = sorted((r for r in rows if equivalence(paired(_values(r), dense_values),
                                                          WITHIN) == 'within'),
                          key=lambda r: (r['total_samples'], r['total_seconds']))
            if good:
                r = good[0]
                lines.append(f"{t:.0%}: cheapest within 1 point of {ref}: {r['method']} "
                             f"({_f(r['metric'], r.get('metric_std'))} at {r['sparsity']:.2%}, "
                             f"{r['total_samples']:.0f} images; vs dense "
                             f"{_difference(_values(r), dense_values, WITHIN)})")
            else:
                best = max(rows, key=lambda r: r['metric'])
                lines.append(f"{t:.0%}: no method shown within 1 point of {ref}; best "
                             f"{best['method']} ({_f(best['metric'], best.get('metric_std'))}, "
                             f"vs dense {_difference(_values(best), dense_values, WITHIN)})")
        pairs = [(_row(result, c, t), _row(result, i, t), what) for c, i, what in PAIRS]
        pairs = [(c, i, what) for c, i, what in pairs if c and i]
        diffs = block([(_values(c), _values(i), None) for c, i, _ in pairs])
        for (colt, imp, what), diff in zip(pairs, diffs):
            lines.append(f"{t:.0%}: COLT vs IMP ({what}, equal budget): "
                         f"{_f(colt['metric'])} vs {_f(imp['metric'])}, {diff}; rounds "
                         f"{colt['round']:g} vs {imp['round']:g}, images "
                         f"{colt['total_samples']:.0f} vs {imp['total_samples']:.0f}")
    return lines


def gaps(result: dict, ref: str = 'imp') -> List[str]:
    """Per target: every method's metric minus ``ref``'s (and dense's minus ``ref``'s; ``ref``
    may be ``'dense'``), in points, paired per seed and Holm-adjusted over the target's
    comparisons."""
    from colt_det.report.stats import block
    lines = []
    dense = result.get('dense')
    for t in result['targets']:
        base = dense if ref == 'dense' else _row(result, ref, t)
        if not base:
            continue
        named = [(r['method'], _values(r)) for r in result['rows']
                 if r['target'] == t and r['reached'] and r['method'] != ref
                 and r['metric'] is not None]
        if dense and ref != 'dense':
            named.append(('dense', seed_values(dense)))
        ref_values = seed_values(base) if ref == 'dense' else \
            _values(base)
        diffs = block([(v, ref_values, None) for _, v in named])
        lines += [f'{t:.0%}: {m} vs {ref}: {d}' for (m, _), d in zip(named, diffs)]
    return lines
