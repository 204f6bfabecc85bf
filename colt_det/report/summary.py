"""Search summaries (``colt_summary.json``): load, write, tables; shared by tools and benchmarks."""
import json
import math
import os.path as osp
from typing import List, Optional, Sequence

from ..core import atomic_write_json
from .plots import plot_metric_vs_sparsity


def load_summary(work_dir_or_file: str) -> dict:
    path = work_dir_or_file
    if osp.isdir(path):
        path = osp.join(path, 'colt_summary.json')
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} not found: pass a work dir of a finished or running '
                                f'search (it writes colt_summary.json after every round)')
    try:
        with open(path) as f:
            summary = json.load(f)
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError(f'{path} is not valid JSON ({e}): it is corrupt; rerun the search '
                         f'with --resume to rewrite it') from None
    missing = [k for k in _SUMMARY_KEYS if not isinstance(summary, dict) or k not in summary]
    if missing:
        raise ValueError(f'{path} lacks {missing}: it is not a colt_summary.json of a search')
    return summary


_SUMMARY_KEYS = ('method', 'num_partitions', 'prune_ratio', 'rounds', 'final')


def write_summary(summary: dict, path: str, plot_path: str, title: str = '') -> None:
    """``colt_summary.json`` and its metric-vs-sparsity plot, each replaced atomically."""
    atomic_write_json(path, summary)
    plot_metric_vs_sparsity([summary], [summary['method'].upper()], plot_path, title=title,
                            overwrite=True)


def format_summary(summary: dict) -> str:
    """The search as a table: round, sparsity, partition metrics, seconds; then the final."""
    key = summary.get('metric_key', 'metric')
    lines = [f"{summary['method'].upper()} N={summary['num_partitions']} "
             f"p={summary['prune_ratio']} ({key})",
             f"{'round':>5} {'sparsity':>9} {'partition metrics':<28} {'jaccard':>7} "
             f"{'seconds':>8}"]
    for r in summary['rounds']:
        ms = ' '.join('n/a' if p['metric'] is None else f"{p['metric']:.3f}"
                      for p in r['partitions'])
        lines.append(f"{r['round']:>5} {r['sparsity']:>9.2%} {ms:<28} "
                     f"{r['overlap']['mean_jaccard']:>7.3f} {r['seconds']:>8.1f}")
    f = summary.get('final')
    if f:
        m = 'n/a' if f['metric'] is None else f"{f['metric']:.4f}"
        lines.append(f"final: sparsity {f['sparsity']:.2%}, {f['metric_split']} {key} {m}, "
                     f"{f['seconds']:.1f} s")
    return '\n'.join(lines)


def eta_rounds(sparsities: Sequence[float], target: float) -> Optional[int]:
    """Rounds still needed to reach ``target``, extrapolating the mean per-round density ratio."""
    if not sparsities:
        return None
    density = 1.0 - sparsities[-1]
    if 1.0 - density >= target:
        return 0
    ratio = density ** (1.0 / len(sparsities))  # geometric mean of per-round kept fraction
    if ratio >= 1.0:
        return None
    return max(1, math.ceil(math.log((1.0 - target) / density) / math.log(ratio)))


def rounds_to(summary: dict, sparsity: float) -> Optional[int]:
    """First round whose sparsity reaches ``sparsity`` (None if never)."""
    for r in summary['rounds']:
        if r['sparsity'] >= sparsity - 1e-9:
            return r['round']
    return None


def compare_table(summaries: List[dict], names: List[str],
                  thresholds: Sequence[float] = (0.6, 0.8, 0.89)) -> str:
    """Markdown table: method, rounds to each threshold, search seconds, final sparsity/metric."""
    head = ['run', 'method', 'N', 'p'] + [f'rounds to {t:.0%}' for t in thresholds] + [
        'rounds', 'search s', 'final sparsity', 'final metric', 'final s']
    rows = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    for name, s in zip(names, summaries):
        f = s.get('final') or {}
        cells = [name, s['method'], str(s['num_partitions']), str(s['prune_ratio'])]
        cells += [str(rounds_to(s, t) or '-') for t in thresholds]
        cells += [str(len(s['rounds'])), f"{sum(r['seconds'] for r in s['rounds']):.0f}",
                  f"{f['sparsity']:.2%}" if f else '-',
                  f"{f['metric']:.4f}" if f and f.get('metric') is not None else '-',
                  f"{f['seconds']:.0f}" if f else '-']
        rows.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(rows)
