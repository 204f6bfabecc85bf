"""Plots of search summaries and benchmark rows, saved atomically (matplotlib, Agg)."""
import io
from typing import List

from ..core import atomic_write_bytes


def plot_metric_vs_sparsity(summaries: List[dict], names: List[str], path: str,
                            title: str = '', overwrite: bool = False) -> None:
    """Partition metric per round (dashed) and final metric (marker) against sparsity."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, s in zip(names, summaries):
        xs = [r['sparsity'] for r in s['rounds']]
        ys = [_mean([p['metric'] for p in r['partitions']]) for r in s['rounds']]
        line = None
        if xs:
            (line, ) = ax.plot(xs, ys, '--o', label=f'{name}: partition val (per round)')
        f = s.get('final')
        if f and f.get('metric') is not None:
            ax.plot([f['sparsity']], [f['metric']], '*', markersize=14,
                    color=line.get_color() if line else None,
                    label=f"{name}: final ({f.get('metric_split', 'test')})")
    finish_plot(fig, ax, path, 'sparsity of prunable weights',
                summaries[0].get('metric_key', 'metric') if summaries else 'metric', title,
                overwrite)


def finish_plot(fig, ax, path: str, xlabel: str, ylabel: str, title: str,
                overwrite: bool = False) -> None:
    """Labels, grid, legend; save (atomically) and close."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, path, overwrite)


def save_figure(fig, path: str, overwrite: bool = False) -> None:
    """A PNG written like every other output: whole or not at all, never over an existing
    file unless ``overwrite``."""
    import matplotlib.pyplot as plt
    buf = io.BytesIO()
    fig.savefig(buf, dpi=110, format='png')
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue(), overwrite=overwrite)


def _mean(values) -> float:
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else float('nan')


def plot_per_layer_sparsity(per_layer: dict, path: str, title: str = '',
                            overwrite: bool = False) -> None:
    """Bar chart of each layer's sparsity (layer collapse shows as a bar at 1.0)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    names = list(per_layer)
    fig, ax = plt.subplots(figsize=(max(6, 0.22 * len(names)), 4))
    ax.bar(range(len(names)), [per_layer[n] for n in names], color='tab:blue')
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels([n.replace('.weight', '') for n in names], rotation=90, fontsize=6)
    ax.set_ylim(0, 1)
    ax.set_ylabel('sparsity')
    ax.set_title(title)
    ax.grid(axis='y', alpha=0.3)
    fig.tight_layout()
    save_figure(fig, path, overwrite)


def plot_points(points: List[dict], path: str, x: str, y: str, title: str = '',
                overwrite: bool = False) -> None:
    """Scatter ``y`` against ``x`` for rows grouped by their ``method``."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for method in sorted({p['method'] for p in points}):
        rows = sorted((p for p in points if p['method'] == method), key=lambda p: p[x])
        ax.plot([p[x] for p in rows], [p[y] for p in rows], 'o-', label=method)
        for p in rows:
            ax.annotate(p['name'], (p[x], p[y]), fontsize=6)
    finish_plot(fig, ax, path, x, y, title, overwrite)
