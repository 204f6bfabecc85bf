"""Evaluate several trained detectors (e.g. COLT, IMP, random, dense, transferred tickets) on one
test set and write one table (CSV + Markdown), an mAP-vs-sparsity plot and per-layer sparsity
charts of the tickets.

Usage:
    python tools/eval_series.py CONFIG RUN [RUN ...] --out-dir DIR
    RUN: a search work dir (its final_masked.pth is evaluated), a .pth checkpoint or a final
         ticket (.safetensors)
"""
import argparse
import csv
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))


def resolve(run: str):
    """(checkpoint, method, ticket or None) of a run argument."""
    from colt_det.engine.workdir import WorkDir
    from colt_det.report import load_summary
    if osp.isdir(run):
        work = WorkDir(run)
        method = load_summary(run)['method'] if osp.isfile(work.summary) else '?'
        ticket = work.final_ticket
        return work.final_masked, method, ticket if osp.isfile(ticket) else None
    return run, 'checkpoint', run if run.endswith('.safetensors') else None


def main(argv=None) -> int:
    from mmengine.config import Config
    parser = argparse.ArgumentParser(description='evaluate a series of detectors')
    parser.add_argument('config')
    parser.add_argument('runs', nargs='+')
    parser.add_argument('--out-dir', required=True)
    parser.add_argument('--no-coco', action='store_true')
    args = parser.parse_args(argv)
    from colt_det.cli import guarded
    return guarded(lambda: _series(args, Config.fromfile(args.config)))


def _series(args, cfg) -> int:
    from colt_det.core import load_ticket, sparsity
    from colt_det.det.evaluate import evaluate_detector
    from colt_det.report import plot_per_layer_sparsity, plot_points
    os.makedirs(args.out_dir, exist_ok=True)
    rows = []
    for run in args.runs:
        ckpt, method, ticket = resolve(run)
        name = osp.basename(osp.normpath(run))
        m = evaluate_detector(cfg, ckpt, coco=not args.no_coco)
        rows.append(dict(name=name, method=method, sparsity=m['sparsity'],
                         voc07_mAP=m['voc07/mAP'], voc_area_mAP=m['voc_area/mAP'],
                         coco_AP=m.get('coco/bbox_mAP', float('nan')),
                         coco_AP50=m.get('coco/bbox_mAP_50', float('nan')),
                         coco_AP75=m.get('coco/bbox_mAP_75', float('nan'))))
        print(f"{name}: sparsity {m['sparsity']:.2%}, VOC07 mAP {m['voc07/mAP']:.4f}",
              flush=True)
        if ticket:
            rep = sparsity(load_ticket(ticket).masks)
            plot_per_layer_sparsity(rep.per_layer,
                                    osp.join(args.out_dir, f'per_layer_{name}.png'),
                                    title=f'{name}: {rep.overall:.1%} overall')
    keys = list(rows[0])
    with open(osp.join(args.out_dir, 'series.csv'), 'w', newline='') as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)
    md = ['| ' + ' | '.join(keys) + ' |', '|' + '---|' * len(keys)]
    md += ['| ' + ' | '.join(f'{r[k]:.4f}' if isinstance(r[k], float) else str(r[k])
                             for k in keys) + ' |' for r in rows]
    with open(osp.join(args.out_dir, 'series.md'), 'w') as f:
        f.write('\n'.join(md) + '\n')
    plot_points(rows, osp.join(args.out_dir, 'map_vs_sparsity.png'), 'sparsity', 'voc07_mAP',
                title='VOC mAP@0.5 vs backbone sparsity')
    print('\n'.join(md))
    print(f'-> {args.out_dir}/series.csv, series.md, map_vs_sparsity.png')
    return 0


if __name__ == '__main__':
    sys.exit(main())
