"""Do a search_cost run's tickets hold with a longer final training?

The det-hard verdicts are made at equal budget, and det-hard's 6-epoch final training is far
from convergence (docs/benchmarks/channels.md: dense gains about 10 points at 24 epochs). This
retrains the tickets that a ``search_cost`` run found at one target, unchanged, with the final
schedule of another config (``--config``, the same model, data and theta0), beside dense,
one-shot and GMP trained with that schedule too. The JSON has search_cost's format, so its
tables and verdicts read it: the search columns (round, images, seconds of the rounds) are the
source run's, the final training, the metric and the totals are the new schedule's.

Usage:
    .venv/bin/python benchmarks/final_schedule.py \\
        --source benchmarks/results/search_cost_det-hard_pre32_high.json --target 0.95 \\
        --methods dense imp-full oneshot gmp colt-N2-full \\
        --config configs/colt_faster_rcnn_hard_pretrained32_24ep.py \\
        --work-root work_dirs/bench_det-hard_pre32_final24 \\
        --out benchmarks/results/search_cost_det-hard_pre32_final24.json

A ``--source`` of several seeds (``search_cost --seeds``) takes ``--seed``: the tickets of that
seed's run are retrained, from that seed's θ0. Runs are resumable: a finished final training
under ``--work-root`` is read, not repeated.
"""
import argparse
import json
import os
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
os.environ.setdefault('PYTHONHASHSEED', '0')

from search_cost import (ONE_TRAINING, ROOT, SEARCH_METHODS, ensure_pretrained,  # noqa: E402
                         final_metric, sha, table, verdicts)
from search_cost.run import one_training_point  # noqa: E402

sys.path.insert(0, ROOT)


def retrained(row: dict, final: dict) -> dict:
    """``row`` of a search method with its ticket's final training replaced by ``final``:
    the search's rounds and images stay, the totals add the new training's."""
    return dict(row, sparsity=final['sparsity'], metric=final['metric'],
                final_seconds=final['seconds'], source_metric=row['metric'],
                total_samples=row['samples'] + (final['train_samples'] or 0),
                total_seconds=row['seconds'] + final['seconds'])


def select(source: dict, target: float, methods: list) -> dict:
    """The source's reached row of each search method at ``target`` (one-line errors)."""
    known = set(SEARCH_METHODS) | set(ONE_TRAINING) | {'dense'}
    unknown = [m for m in methods if m not in known]
    if unknown:
        sys.exit(f'error: --methods {unknown} cannot be retrained here: use search methods '
                 f'(their ticket is retrained), {sorted(ONE_TRAINING)} or dense')
    if target not in source['targets']:
        sys.exit(f"error: --target {target} is not one of the source's {source['targets']}")
    rows = {}
    for m in [m for m in methods if m in SEARCH_METHODS]:
        row = next((r for r in source['rows'] if r['method'] == m and r['target'] == target),
                   None)
        if row is None or not row['reached']:
            sys.exit(f'error: the source has no ticket of {m} at {target:.0%}: run its '
                     f'search_cost command with that method first')
        if not osp.exists(row['ticket']):
            sys.exit(f"error: the ticket of {m} at {target:.0%} ({row['ticket']}) does not "
                     f"exist: run the source's search_cost command (its work root) first")
        rows[m] = row
    return rows


def one_run(source: dict, seed=None) -> dict:
    """The run of ``seed`` of a search_cost JSON of several seeds (``source`` itself if it
    holds one run)."""
    if not source.get('seeds'):
        if seed is not None:
            sys.exit('error: --seed: the --source holds one run: leave --seed out')
        return source
    if seed is None or str(seed) not in source['runs']:
        sys.exit(f"error: the --source holds the seeds {source['seeds']}: pick one with --seed")
    return dict(source['runs'][str(seed)], task=source.get('task'))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--source', required=True, help='a search_cost JSON')
    parser.add_argument('--seed', type=int, help='with a --source of several seeds: its run '
                        'of this seed')
    parser.add_argument('--target', type=float, required=True, help='its sparsity target')
    parser.add_argument('--methods', nargs='+', required=True)
    parser.add_argument('--config', required=True, help='the config of the new final schedule')
    parser.add_argument('--work-root', required=True)
    parser.add_argument('--out', required=True)
    args = parser.parse_args()
    if osp.exists(args.out):
        sys.exit(f'error: {args.out} exists: nothing is overwritten; move it away first')
    with open(args.source) as f:
        source = json.load(f)
    source = one_run(source, args.seed)
    searched = select(source, args.target, args.methods)
    from mmengine.config import Config
    base = Config.fromfile(osp.join(ROOT, args.config))
    if base.get('demo_data'):
        from colt_det.synthetic import ensure_demo_data
        ensure_demo_data(osp.join(ROOT, 'data', 'demo'), base.demo_data)
    pretrained = None
    if base.colt.get('init_ticket'):
        pretrained = ensure_pretrained(base.colt.init_ticket['path'], base.get('pretrain_config'))
    seeded = {} if source['seed'] is None else dict(seed=source['seed'])
    work_root = osp.abspath(args.work_root)
    started, rows, dense = time.time(), [], None
    for m in args.methods:
        print(f'== {m}: the final training of {args.config}', flush=True)
        if m == 'dense':
            dense = final_metric(args.config, osp.join(work_root, 'dense'),
                                 dict(method='dense', **seeded))
        elif m in ONE_TRAINING:
            rows.append(one_training_point(m, args.config, work_root, args.target, seeded))
        else:
            work = osp.join(work_root, f'{m}_final_{args.target:g}')
            final = final_metric(args.config, work, dict(method='mask',
                                                         mask_from=searched[m]['ticket'],
                                                         **seeded))
            rows.append(retrained(searched[m], final))
    from colt_det.search.workdir import WorkDir
    theta0 = {sha(WorkDir(osp.join(work_root, d)).theta0) for d in os.listdir(work_root)
              if osp.exists(WorkDir(osp.join(work_root, d)).theta0)}
    if theta0 != {source['theta0_sha256']}:
        sys.exit(f"error: the trainings started from theta0 {sorted(theta0)}, the source's "
                 f"searches from {source['theta0_sha256']}: use a config with the same theta0")
    result = dict(config=args.config, source=args.source, source_config=source['config'],
                  task=source.get('task'), seed=source['seed'],
                  prune_ratio=source['prune_ratio'], matched_rate=None, targets=[args.target],
                  theta0_sha256=source['theta0_sha256'], dense=dense, dense_scratch=None,
                  source_dense=source['dense'], rows=rows, curves={}, pretrained=pretrained,
                  machine=dict(cpu_count=os.cpu_count()),
                  total_seconds=round(time.time() - started, 1))
    from colt_det.core import atomic_write_json
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    atomic_write_json(args.out, result, overwrite=False)
    print(table(result))
    print('\n'.join(verdicts(result)))
    print(f'JSON: {args.out}')


if __name__ == '__main__':
    main()
