"""The benchmark's plots (metric vs sparsity, sparsity vs rounds, per-layer sparsity)."""
import os
import os.path as osp


def plot(result: dict, prefix: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    os.makedirs(osp.dirname(prefix), exist_ok=True)
    methods = sorted({r['method'] for r in result['rows']})
    fig, ax = plt.subplots(figsize=(6, 4))
    for m in methods:
        pts = [(r['sparsity'], r['metric'], r.get('metric_std', 0.0)) for r in result['rows']
               if r['method'] == m and r['reached'] and r['metric'] is not None]
        if pts:  # error bars: the std over seeds (none for one seed)
            x, y, err = zip(*pts)
            ax.errorbar(x, y, yerr=err, marker='o', capsize=3, label=m)
    if result['dense']:
        ax.axhline(result['dense']['metric'], color='k', ls=':', label='dense')
    _save(fig, ax, f'{prefix}_metric_vs_sparsity.png', 'sparsity', 'final test metric')
    fig, ax = plt.subplots(figsize=(6, 4))
    for m, curve in result['curves'].items():
        ax.plot([0] + [c['round'] for c in curve], [0] + [c['sparsity'] for c in curve],
                marker='.', label=m)
    _save(fig, ax, f'{prefix}_sparsity_vs_rounds.png', 'round', 'sparsity')
    t = 0.89 if 0.89 in result['targets'] else max(result['targets'])
    rows = [r for r in result['rows'] if r['target'] == t and r['reached']
            and r['method'] != 'random']
    if rows:
        fig, ax = plt.subplots(figsize=(7, 4))
        # every row's layers (a method may leave some out of its prunable set: a gap there)
        names = list(dict.fromkeys(n for r in rows for n in r['per_layer_sparsity']))
        for r in rows:
            ax.plot(range(len(names)), [r['per_layer_sparsity'].get(n, float('nan'))
                                        for n in names], marker='.',
                    label=f"{r['method']} ({r['sparsity']:.1%})")
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels([n.replace('.weight', '') for n in names], rotation=60, fontsize=6,
                           ha='right')
        _save(fig, ax, f'{prefix}_per_layer_sparsity.png', 'layer',
              f'sparsity at the {t:.0%} point')


def _save(fig, ax, path: str, xlabel: str, ylabel: str) -> None:
    from colt_det.report.plots import finish_plot
    finish_plot(fig, ax, path, xlabel, ylabel, title='', overwrite=True)

