"""Statistics over seeds for the verdicts: paired differences, corrections, equivalence.

Methods of one seed share theta0 (and the data order), so their difference is measured per
seed: :func:`paired` gives the mean per-seed difference and the half-width of its t interval.
Several comparisons in one verdict block are corrected by Holm's step-down (:func:`holm`).
"Within ``margin`` of" is an equivalence statement, decided by two one-sided tests (TOST) at
``margin`` (:func:`equivalence`): the whole interval must lie inside +-margin; "not within" needs
the whole interval outside; anything else is "not established". :func:`bootstrap` resamples
the seeds as a check on the t interval.
"""
import math
import random
import statistics
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence, Tuple

LEVEL = 0.95
BOOTSTRAP_SEEDS = 3  # fewer seeds resample to too few distinct means for a check


def _t(q: float, df: int) -> float:
    from scipy import stats
    return float(stats.t.ppf(q, df))


@dataclass
class Difference:
    """A mean difference ``a - b`` over ``n`` seeds with its interval (``half`` None: one
    seed, no interval)."""

    mean: float
    half: Optional[float]
    n: int
    level: float = LEVEL
    test: str = 'paired t'
    boot: Optional[Tuple[float, float]] = None  # the seeds' bootstrap interval, a check

    @property
    def low(self) -> Optional[float]:
        return None if self.half is None else self.mean - self.half

    @property
    def high(self) -> Optional[float]:
        return None if self.half is None else self.mean + self.half

    @property
    def detected(self) -> Optional[bool]:
        """The interval excludes 0 (None: no interval)."""
        return None if self.half is None else abs(self.mean) > self.half


def paired(a: Sequence[float], b: Sequence[float], level: float = LEVEL) -> Difference:
    """mean(a_i - b_i) over the seeds both have, with the t interval of the differences."""
    if len(a) != len(b):
        raise ValueError(f'paired differences need one value per seed on both sides, got '
                         f'{len(a)} and {len(b)}')
    d = [x - y for x, y in zip(a, b)]
    mean = statistics.mean(d)
    if len(d) < 2:
        return Difference(mean, None, len(d), level)
    half = _t(0.5 + level / 2, len(d) - 1) * statistics.stdev(d) / math.sqrt(len(d))
    boot = bootstrap(a, b, level) if len(d) >= BOOTSTRAP_SEEDS else None
    return Difference(mean, half, len(d), level, boot=boot)


def holm(p_values: Sequence[float]) -> List[float]:
    """Holm's step-down adjusted p-values, in the order given."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    m, out, running = len(p_values), [0.0] * len(p_values), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        out[i] = running
    return out


def p_value(a: Sequence[float], b: Sequence[float]) -> Optional[float]:
    """Two-sided paired t-test p-value (None: fewer than two seeds)."""
    from scipy import stats
    d = [x - y for x, y in zip(a, b)]
    if len(d) < 2:
        return None
    if statistics.stdev(d) == 0:
        return 0.0 if statistics.mean(d) != 0 else 1.0
    return float(stats.ttest_1samp(d, 0.0).pvalue)


def equivalence(diff: Difference, margin: float) -> str:
    """TOST at ``margin``: ``'within'`` when the (1 - 2 alpha) interval lies inside
    +-margin, ``'not within'`` when it lies wholly outside, else ``'not established'``.

    The interval used is the (2 * level - 1) one (90% for a 95% level), as TOST's two
    one-sided tests at alpha = 1 - level require.
    """
    if diff.half is None:
        return 'not established'
    q = level_for_tost(diff.level)
    half = diff.half * (_t(0.5 + q / 2, diff.n - 1) / _t(0.5 + diff.level / 2, diff.n - 1))
    low, high = diff.mean - half, diff.mean + half
    if -margin < low and high < margin:
        return 'within'
    if low >= margin or high <= -margin:
        return 'not within'
    return 'not established'


def level_for_tost(level: float) -> float:
    return 2 * level - 1


def bootstrap(a: Sequence[float], b: Sequence[float], level: float = LEVEL,
              draws: int = 2000, seed: int = 0) -> Optional[tuple]:
    """The percentile interval of the mean paired difference, seeds resampled (None: one
    seed)."""
    d = [x - y for x, y in zip(a, b)]
    if len(d) < 2:
        return None
    rng = random.Random(seed)
    means = sorted(statistics.mean(rng.choices(d, k=len(d))) for _ in range(draws))
    lo = means[int((1 - level) / 2 * draws)]
    hi = means[min(draws - 1, int((1 + level) / 2 * draws))]
    return lo, hi


def describe(diff: Difference, margin: Optional[float] = None, scale: float = 100.0,
             unit: str = 'points', adjusted: Optional[tuple] = None) -> str:
    """One line: the difference, whether it is detected, and (with ``margin``) the
    equivalence verdict, naming the test and the number of seeds. ``adjusted`` = ``(p, m)``,
    a Holm-adjusted p-value over ``m`` comparisons, decides "detected" in place of the
    unadjusted interval (which is still printed)."""
    if diff.half is None:
        text = f'{scale * diff.mean:+.1f} {unit} (one seed: no interval)'
    else:
        detected = diff.detected if adjusted is None else adjusted[0] < 1 - diff.level
        found = 'difference detected' if detected else 'no difference detected'
        holm_note = '' if adjusted is None else \
            f', Holm-adjusted p {adjusted[0]:.3f} over {adjusted[1]} comparisons'
        text = (f'{scale * diff.mean:+.1f} {unit}, {found} ({diff.test}, {diff.n} seeds, '
                f'{diff.level:.0%} interval ±{scale * diff.half:.1f}{holm_note}'
                f'{_bootstrap_note(diff, scale)})')
    if margin is not None:
        m = scale * margin
        text += (f"; within {m:g} {unit[:-1] if m == 1 and unit.endswith('s') else unit}: "
                 f'{equivalence(diff, margin)} (TOST)')
    return text


def _bootstrap_note(diff: Difference, scale: float) -> str:
    """The seeds' bootstrap interval beside the t interval, a check a reader can compare: with
    few seeds the percentile bootstrap lies inside the range of the per-seed differences and
    is narrower than t's (it under-covers), so the t interval decides."""
    if diff.boot is None:
        return ''
    lo, hi = diff.boot
    return f'; bootstrap [{scale * lo:+.1f}, {scale * hi:+.1f}]'


def exceeds(diff: Difference, margin: float) -> str:
    """Is ``a`` more than ``margin`` above ``b``? ``'above'`` when the whole interval lies
    above ``margin``, ``'not above'`` when it lies wholly below, else ``'not established'``
    (one seed: always not established)."""
    if diff.half is None:
        return 'not established'
    if diff.low > margin:
        return 'above'
    if diff.high < margin:
        return 'not above'
    return 'not established'


def block(comparisons: Sequence[tuple], scale: float = 100.0) -> List[str]:
    """One verdict block: each ``(a, b, margin)`` (per-seed values of both sides, ``margin``
    None or the equivalence margin) as :func:`describe`'s line; where the block has several
    comparisons with several seeds, "detected" is decided by the paired p-values
    Holm-adjusted over the block."""
    diffs = [paired(a, b) for a, b, _ in comparisons]
    ps = [p_value(a, b) for a, b, _ in comparisons]
    adjusted = holm(ps) if len(ps) > 1 and all(p is not None for p in ps) else None
    return [describe(diff, margin, scale,
                     adjusted=None if adjusted is None else (adjusted[i], len(ps)))
            for i, ((_, _, margin), diff) in enumerate(zip(comparisons, diffs))]


def seed_values(row: dict, field: str = 'metric') -> List[float]:
    """A row's per-seed values of ``field`` (its ``per_seed``: a dict of lists, or, in the
    channel benchmark's older records, the list of metrics), or its one value."""
    per = row.get('per_seed')
    if isinstance(per, dict) and per.get(field):
        return list(per[field])
    if isinstance(per, list) and per and field == 'metric':
        return list(per)
    return [row[field]]


def over_seeds(runs: Sequence[Sequence[dict]], key: Callable[[dict], tuple],
               fields: Sequence[str], usable: Optional[Callable[[dict], bool]] = None
               ) -> List[Tuple[tuple, Optional[dict]]]:
    """The rows of several seeds' runs combined, per key (in the order first seen).

    Args:
        runs: every seed's rows (dicts), seeds in order.
        key: what identifies a row across seeds (e.g. its method and target).
        fields: the numbers averaged; each becomes the mean, ``<field>_std`` (sample std, 0
            with one seed) and ``per_seed[field]`` (the seeds' values in order).
        usable: rows that count (e.g. a search that reached its target); default all.

    Returns:
        ``(key, row)`` pairs; ``row`` is None where a seed has no usable row of that key.
    """
    usable = usable or (lambda r: True)
    keys = list(dict.fromkeys(key(r) for rows in runs for r in rows if usable(r)))
    out = []
    for k in keys:
        each = [next((r for r in rows if usable(r) and key(r) == k), None) for rows in runs]
        if any(e is None for e in each):
            out.append((k, None))
            continue
        present = [f for f in fields if f in each[0]]
        row = dict(each[0], per_seed={f: [e[f] for e in each] for f in present})
        for f in present:
            values = [e[f] for e in each]
            row[f] = statistics.mean(values)
            row[f'{f}_std'] = statistics.stdev(values) if len(values) > 1 else 0.0
        out.append((k, row))
    return out
