"""Evaluate several trained models (e.g. COLT, IMP, random, dense, transferred tickets) on one
test set and write one table (CSV + Markdown), a metric-vs-sparsity plot and per-layer sparsity
charts of the tickets: ``colt-eval-series`` (``tools/eval_series.py`` in a checkout).
Detectors get VOC and COCO-style columns; classifiers the config's test metrics (its task's
``evaluate``).

Usage:
    colt-eval-series CONFIG RUN [RUN ...] --out-dir DIR [--force] [--no-coco]
    RUN: a search work dir (its final_masked.pth is evaluated), a .pth checkpoint or a final
         ticket (.safetensors)
Every output is written whole (atomically); existing ones are kept unless --force.
"""
import argparse
import csv
import io
import os.path as osp
import sys

from . import guarded, load_config, refuse_existing


def resolve(run: str):
    """(checkpoint, method, ticket or None) of a run argument."""
    from ..report import load_summary
    from ..search.workdir import WorkDir
    if osp.isdir(run):
        work = WorkDir(run)
        method = load_summary(run)['method'] if osp.isfile(work.summary) else '?'
        ticket = work.final_ticket
        return work.final_masked, method, ticket if osp.isfile(ticket) else None
    return run, 'checkpoint', run if run.endswith('.safetensors') else None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description='evaluate a series of trained models')
    parser.add_argument('config')
    parser.add_argument('runs', nargs='+')
    parser.add_argument('--out-dir', required=True)
    parser.add_argument('--no-coco', action='store_true')
    parser.add_argument('--force', action='store_true', help='overwrite existing outputs')
    parser.add_argument('--debug', action='store_true', help='tracebacks for known errors too')
    args = parser.parse_args(argv)
    return guarded(lambda: _series(args, load_config(args.config)), args.debug)


def _series(args, cfg) -> int:
    from ..core import atomic_write_bytes, load_ticket, sparsity
    from ..report import plot_per_layer_sparsity, plot_points
    from ..tasks.base import task_of
    task = task_of(cfg)
    detection = task.default_scope == 'mmdet'
    names = [osp.basename(osp.normpath(run)) for run in args.runs]
    outputs = ['series.csv', 'series.md', 'map_vs_sparsity.png'] + [
        f'per_layer_{n}.png' for n in names]
    for name in outputs:  # checked before the first evaluation, not after an hour of them
        refuse_existing(osp.join(args.out_dir, name), args.force)
    rows = []
    for run, name in zip(args.runs, names):
        ckpt, method, ticket = resolve(run)
        m, _ = task.evaluate(cfg, ckpt, **({'coco': not args.no_coco} if detection else {}))
        if detection:
            row = dict(voc07_mAP=m['voc07/mAP'], voc_area_mAP=m['voc_area/mAP'],
                       coco_AP=m.get('coco/bbox_mAP', float('nan')),
                       coco_AP50=m.get('coco/bbox_mAP_50', float('nan')),
                       coco_AP75=m.get('coco/bbox_mAP_75', float('nan')))
        else:
            row = {k.replace('/', '_'): v for k, v in m.items()}
        spars = m['sparsity'] if 'sparsity' in m else (
            sparsity(load_ticket(ticket).masks).overall if ticket else float('nan'))
        rows.append(dict(name=name, method=method, sparsity=spars, **row))
        metric = next(iter(row))
        print(f"{name}: sparsity {spars:.2%}, {metric} {row[metric]:.4f}", flush=True)
        if ticket:
            rep = sparsity(load_ticket(ticket).masks)
            plot_per_layer_sparsity(rep.per_layer,
                                    osp.join(args.out_dir, f'per_layer_{name}.png'),
                                    title=f'{name}: {rep.overall:.1%} overall',
                                    overwrite=args.force)
    keys = list(rows[0])
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=keys)
    w.writeheader()
    w.writerows(rows)
    atomic_write_bytes(osp.join(args.out_dir, 'series.csv'), buf.getvalue().encode(),
                       overwrite=args.force)
    md = ['| ' + ' | '.join(keys) + ' |', '|' + '---|' * len(keys)]
    md += ['| ' + ' | '.join(f'{r[k]:.4f}' if isinstance(r[k], float) else str(r[k])
                             for k in keys) + ' |' for r in rows]
    atomic_write_bytes(osp.join(args.out_dir, 'series.md'), ('\n'.join(md) + '\n').encode(),
                       overwrite=args.force)
    metric = keys[3]  # the first metric column: VOC mAP, or the classifier's first metric
    plot_points(rows, osp.join(args.out_dir, 'map_vs_sparsity.png'), 'sparsity', metric,
                title=f'{metric} vs sparsity', overwrite=args.force)
    print('\n'.join(md))
    print(f'-> {args.out_dir}/series.csv, series.md, map_vs_sparsity.png')
    return 0


if __name__ == '__main__':
    sys.exit(main())
