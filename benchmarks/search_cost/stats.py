"""Statistics over seeds: mean and sample std per row; differences are paired
(:mod:`colt_det.report.stats`)."""
import statistics
from typing import Dict, List, Optional


def aggregate(runs: Dict[int, dict]) -> List[dict]:
    """Mean and sample std over seeds of every (method, target) row reached in every run
    (:func:`colt_det.report.stats.over_seeds`); a row some seed did not reach is kept as
    ``reached=False``."""
    from colt_det.report.stats import over_seeds
    fields = ('metric', 'round', 'seconds', 'samples', 'sparsity', 'total_samples',
              'total_seconds')
    return [row or dict(method=method, target=target, reached=False)
            for (method, target), row in over_seeds(
                [r['rows'] for r in runs.values()], lambda r: (r['method'], r['target']),
                fields, usable=lambda r: r['reached'])]


def mean_std(finals: List[Optional[dict]]) -> Optional[dict]:
    """One final training repeated over seeds: the mean metric with its sample std."""
    if not finals or any(f is None for f in finals):
        return None
    values = [f['metric'] for f in finals]
    return dict(metric=statistics.mean(values), per_seed=values,
                metric_std=statistics.stdev(values) if len(values) > 1 else 0.0,
                sparsity=finals[0]['sparsity'])


def _values(row: dict) -> List[float]:
    from colt_det.report.stats import seed_values
    return seed_values(row)


def _difference(a: List[float], b: List[float], margin: Optional[float] = None) -> str:
    """``a - b`` in points as a paired per-seed difference (the methods of a seed share
    theta0), with TOST at ``margin`` where given (:mod:`colt_det.report.stats`)."""
    from colt_det.report.stats import describe, paired
    return describe(paired(a, b), margin)
