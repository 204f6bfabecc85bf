"""Statistics over seeds: mean, sample std, and the Welch interval of a difference."""
import math
import statistics
from typing import Dict, List, Optional

def aggregate(runs: Dict[int, dict]) -> List[dict]:
    """Mean and sample std over seeds of every (method, target) row reached in every run."""
    keys = []
    for result in runs.values():
        keys += [(r['method'], r['target']) for r in result['rows'] if r['reached']
                 and (r['method'], r['target']) not in keys]
    rows = []
    for method, target in keys:
        each = [next((r for r in result['rows'] if r['method'] == method
                      and r['target'] == target and r['reached']), None)
                for result in runs.values()]
        if any(r is None for r in each):
            rows.append(dict(method=method, target=target, reached=False))
            continue
        stats = [k for k in ('metric', 'round', 'seconds', 'samples', 'sparsity',
                             'total_samples', 'total_seconds') if k in each[0]]
        row = dict(each[0], per_seed={k: [r[k] for r in each] for k in stats})
        for k in stats:
            values = [r[k] for r in each]
            row[k] = statistics.mean(values)
            row[f'{k}_std'] = statistics.stdev(values) if len(values) > 1 else 0.0
        rows.append(row)
    return rows


def mean_std(finals: List[Optional[dict]]) -> Optional[dict]:
    """One final training repeated over seeds: the mean metric with its sample std."""
    if not finals or any(f is None for f in finals):
        return None
    values = [f['metric'] for f in finals]
    return dict(metric=statistics.mean(values), per_seed=values,
                metric_std=statistics.stdev(values) if len(values) > 1 else 0.0,
                sparsity=finals[0]['sparsity'])


LEVEL = 0.95


def welch(a: List[float], b: List[float], level: float = LEVEL):
    """mean(a) - mean(b) and the half-width of its Welch t interval (None: fewer than two
    values on a side, so no interval)."""
    from scipy import stats
    d = statistics.mean(a) - statistics.mean(b)
    if len(a) < 2 or len(b) < 2:
        return d, None
    va, vb = statistics.variance(a) / len(a), statistics.variance(b) / len(b)
    if va + vb == 0:
        return d, 0.0
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    return d, float(stats.t.ppf(0.5 + level / 2, df) * math.sqrt(va + vb))


def _values(row: dict) -> List[float]:
    return list(row.get('per_seed', {}).get('metric') or [row['metric']])


def _difference(a: List[float], b: List[float]) -> str:
    d, hw = welch(a, b)
    if hw is None:
        return f'{100 * d:+.1f} points (one seed: no interval)'
    found = 'difference detected' if abs(d) > hw else 'no difference detected'
    return f'{100 * d:+.1f} points, {found} ({LEVEL:.0%} interval ±{100 * hw:.1f})'
