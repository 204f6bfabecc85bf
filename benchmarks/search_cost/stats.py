"""Statistics over seeds: mean and sample std per row; differences are paired
(:mod:`colt_det.report.stats`)."""
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


def _values(row: dict) -> List[float]:
    return list(row.get('per_seed', {}).get('metric') or [row['metric']])


def _difference(a: List[float], b: List[float], margin: Optional[float] = None) -> str:
    """``a - b`` in points as a paired per-seed difference (the methods of a seed share
    theta0), with TOST at ``margin`` where given (:mod:`colt_det.report.stats`)."""
    from colt_det.report.stats import describe, paired
    return describe(paired(a, b), margin)
