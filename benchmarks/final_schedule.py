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

``--combine A.json B.json C.json --out SEEDS.json`` merges the runs of several seeds (one JSON
each, the same target and schedule) into one JSON of search_cost's several-seed format: mean
and std per row reached in every run, ``per_seed`` values in the order given, so its verdicts
are paired per seed.
"""
import argparse
import json
import os
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
os.environ.setdefault('PYTHONHASHSEED', '0')

from search_cost import (  # noqa: E402
    ONE_TRAINING,
    ROOT,
    SEARCH_METHODS,
    ensure_pretrained,
    final_metric,
    sha,
    table,
    verdicts,
)
from search_cost.run import one_training_point  # noqa: E402

sys.path.insert(0, ROOT)


def retrained(row: dict, final: dict) -> dict:
    """``row`` of a search method with its ticket's final training replaced by ``final``:
    the search's rounds and images stay, the totals add the new training's."""
    return dict(row, sparsity=final['sparsity'], metric=final['metric'],
                final_seconds=final['seconds'], source_metric=row['metric'],
                total_samples=row['samples'] + (final['train_samples'] or 0),
                total_seconds=row['seconds'] + final['seconds'])


def select(source: dict, target: float, methods: list, root: str = ROOT) -> dict:
    """The source's reached row of each search method at ``target`` (one-line errors), its
    ticket path resolved: a recorded relative path is under ``root`` (the clone, or where
    ``--tickets-root`` says the source's work roots moved)."""
    from colt_det.core.io import resolve_path
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
        ticket = resolve_path(row['ticket'], root)
        if not osp.exists(ticket):
            sys.exit(f"error: the ticket of {m} at {target:.0%} ({ticket}) does not exist: "
                     f"run the source's search_cost command (its work root) first, or "
                     f"name where its work_dirs moved with --tickets-root")
        rows[m] = dict(row, ticket=ticket)
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


def combine(paths: list) -> dict:
    """The runs of ``paths`` (one seed each) as one several-seed result (one-line errors)."""
    from search_cost import aggregate, mean_std
    runs = {}
    for path in paths:
        with open(path) as f:
            run = json.load(f)
        seed = run.get('seed')
        if seed is None:  # a run with the config's own seed
            from mmengine.config import Config
            seed = Config.fromfile(osp.join(ROOT, run['config'])).colt.get('seed', 0)
        if seed in runs or run.get('seeds'):
            sys.exit(f"error: --combine {path}: seed {seed} twice, or a file of several "
                     f"seeds; give one run of each seed")
        runs[seed] = run
    first = next(iter(runs.values()))
    for path, run in zip(paths, runs.values()):
        if (run['targets'], run['config']) != (first['targets'], first['config']):
            sys.exit(f"error: --combine {path}: config {run['config']} at {run['targets']}, "
                     f"not {first['config']} at {first['targets']} like {paths[0]}")
    everywhere = [r for r in aggregate(runs) if all(
        any((x['method'], x['target']) == (r['method'], r['target']) for x in run['rows'])
        for run in runs.values())]  # a method not run in every seed is left out, not "missed"
    return dict(first, seed=None, seeds=list(runs), rows=everywhere,
                dense=mean_std([r['dense'] for r in runs.values()]),
                runs={str(s): r for s, r in runs.items()}, combined=list(paths),
                theta0_sha256=' / '.join(r['theta0_sha256'] for r in runs.values()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--combine', nargs='+', metavar='JSON',
                        help='merge one-seed results of this script into one of several seeds')
    parser.add_argument('--source', help='a search_cost JSON')
    parser.add_argument('--seed', type=int, help='with a --source of several seeds: its run '
                        'of this seed')
    parser.add_argument('--target', type=float, help='its sparsity target')
    parser.add_argument('--methods', nargs='+')
    parser.add_argument('--config', help='the config of the new final schedule')
    parser.add_argument('--work-root')
    parser.add_argument('--out', required=True)
    parser.add_argument('--tickets-root', default=ROOT, help="the folder the source's "
                        "relative ticket paths start from (default: this clone)")
    args = parser.parse_args()
    if osp.exists(args.out):
        sys.exit(f'error: {args.out} exists: nothing is overwritten; move it away first')
    from colt_det.core import atomic_write_json
    if args.combine:
        result = combine(args.combine)
        atomic_write_json(args.out, result, overwrite=False)
        print(table(result))
        print('\n'.join(verdicts(result)))
        return print(f'JSON: {args.out}')
    missing = [f'--{k.replace("_", "-")}' for k in ('source', 'target', 'methods', 'config',
                                                     'work_root') if getattr(args, k) is None]
    if missing:
        parser.error(f'{", ".join(missing)} required (or --combine)')
    with open(args.source) as f:
        source = json.load(f)
    source = one_run(source, args.seed)
    searched = select(source, args.target, args.methods, args.tickets_root)
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
    from colt_det.core.io import relative_paths
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    result = relative_paths(result, ROOT)
    atomic_write_json(args.out, result, overwrite=False)
    print(table(result))
    print('\n'.join(verdicts(result)))
    print(f'JSON: {args.out}')


if __name__ == '__main__':
    main()
