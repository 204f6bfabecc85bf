"""Search cost and ticket quality: COLT vs IMP vs matched-rate IMP vs random, side by side.

Every method starts from the same theta0 (same config, model and seed: the script checks the
theta0 files are identical) and spends the same training budget per round (``train_cfg`` is the
schedule of each partition training, so N partitions x 1/N of the data = one IMP round). For
each sparsity target the script reports the first round that reaches it, the training images
processed and the wall seconds up to that round, the per-layer sparsity (layer collapse = a layer
with every weight pruned), and the test metric of that round's ticket trained on all classes
with the final schedule (``method='mask'``: rewound to theta0, same schedule for everyone).

Methods:
    colt-N2, colt-N3, colt-N4   COLT with N partitions at the config's prune ratio p
    imp                         IMP (N=1, all classes) at p
    imp-matched                 IMP at COLT N=2's effective per-round rate, so it needs as many
                                rounds as COLT to reach 89%: separates "prunes more per round"
                                from "chooses better weights"
    random                      random masks with the per-layer sparsity of COLT N=2's tickets
    oneshot                     theta0 magnitude-pruned once to each target (no search rounds;
                                on a pretrained theta0 the Girish et al. baseline)
    colt-N2-layer               fix candidate: layer-wise magnitude pruning (no layer collapse)
    colt-N2-unscaled            COLT N=2 with partition_budget='full' (each partition trains
                                on all its images: a round costs more than an IMP round), next
                                to configs that set 'equal'
    colt-N3-k2                  fix candidate: keep a weight kept by >= 2 of 3 partitions
    colt-N2-movement            COLT N=2 scoring weights by |w - theta0| (weight_score option;
                                det-hard leaves its frozen stem and layer1 unpruned)
    colt-N2-full, imp-full      the lottery-ticket protocol: every round trains the final
                                schedule (colt.round_train_cfg), not the config's short one
    colt-N2-early, imp-early    full rounds that stop once their mask converged (Early-Bird's
                                rule: colt.early_stop, 1.5% of the candidates over 25
                                iterations, twice in a row)
    *-guard                     the layer-collapse guard: every layer keeps >= 1%
                                (colt.min_density; imp-full-guard, colt-N2-full-guard,
                                oneshot-guard, gmp-guard)
    gmp                         gradual magnitude pruning in one training of the final
                                schedule (colt.method='gmp'): its own weights are the ticket
    gmp-rewind                  GMP's mask retrained from theta0 with the final schedule
    dense                       the final schedule without pruning (reference)
    dense-scratch               dense from a random theta0 (det-hard: the config without
                                its pretrained backbone, configs/colt_faster_rcnn_hard.py)

``--seeds 0 1 2`` repeats everything per seed (theta0, partitions, data order: ``colt.seed``)
under ``<work-root>/seed_<s>`` and adds mean, std and the spread-aware verdict over seeds.
``seed_<s>`` may be a link to a finished single-seed work root of the same config whose
``colt.seed`` is ``s``: its runs are reused, not repeated.

Runs are resumable: work dirs under ``--work-root`` are reused (delete them to start over).
A finished work root takes more ``--targets``: its searches continue to the highest target
(``--resume`` raises their ``target_sparsity``), finished final trainings are skipped, and a
search already run further is not lowered. (``imp-matched`` takes its rate from COLT's rounds,
so it is refused where COLT's new rounds change that rate: leave it out of such a run.)

Usage:
    .venv/bin/python benchmarks/search_cost --task cls      # demo ImageFolder, ~30 min
    .venv/bin/python benchmarks/search_cost --task cls-hard # 2nd generated ImageFolder set
    .venv/bin/python benchmarks/search_cost --task det      # demo VOC-format, to 80%
    .venv/bin/python benchmarks/search_cost --task det-hard [--seeds 0 1 2]  # hard set (its theta0
                                                    # is pretrained first where missing)
    .venv/bin/python benchmarks/search_cost --task cls --config configs/colt_resnet18_cifar10.py
"""
import argparse
import os
import os.path as osp
import sys
import time

if __package__ in (None, ''):  # run as a folder: python benchmarks/search_cost
    sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
    __package__ = 'search_cost'
os.environ.setdefault('PYTHONHASHSEED', '0')

from search_cost import (  # noqa: E402
    DEFAULTS,
    ROOT,
    aggregate,
    ensure_pretrained,
    known_methods,
    mean_std,
    plot,
    run_benchmark,
    table,
    verdict,
    verdicts,
)

sys.path.insert(0, ROOT)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--task', choices=sorted(DEFAULTS), default='cls')
    parser.add_argument('--config', help='search config (default: the demo config of --task)')
    parser.add_argument('--targets', type=float, nargs='+', help='sparsity targets')
    parser.add_argument('--methods', nargs='+', help=f'subset of the methods (default: all '
                        f'of the task); known: {sorted(known_methods())}')
    parser.add_argument('--seeds', type=int, nargs='+',
                        help="colt.seed of each repetition (default: the config's seed, once)")
    parser.add_argument('--work-root', help='work dirs (default work_dirs/bench_<task>; '
                        'det-hard: bench_det-hard_pre32, likewise below)')
    parser.add_argument('--out', help='JSON (default benchmarks/results/search_cost_<task>.json)')
    parser.add_argument('--plots', help='plot prefix (default docs/img/bench_<task>)')
    args = parser.parse_args()
    d = DEFAULTS[args.task]
    config = args.config or d['config']
    targets = sorted(args.targets or d['targets'])
    methods = args.methods or d['methods']
    name = d.get('name', args.task)
    work_root = osp.abspath(args.work_root or osp.join(ROOT, 'work_dirs', f'bench_{name}'))
    out = args.out or osp.join(ROOT, 'benchmarks', 'results', f'search_cost_{name}.json')
    plots = args.plots or osp.join(ROOT, 'docs', 'img', f'bench_{name}')

    from mmengine.config import Config
    base = Config.fromfile(osp.join(ROOT, config))
    if base.get('demo_data'):
        from colt_det.synthetic import ensure_demo_data
        ensure_demo_data(osp.join(ROOT, 'data', 'demo'), base.demo_data)
    pretrained = None
    if base.colt.get('init_ticket'):
        pretrained = ensure_pretrained(base.colt.init_ticket['path'], base.get('pretrain_config'))
    started = time.time()
    if not args.seeds:
        result = run_benchmark(config, targets, methods, work_root, seed=None,
                               scratch_config=d.get('scratch'), options=d.get('method_options'))
    else:
        # realpath: seed_<s> may link to the single-seed run of the same config and seed
        runs = {s: run_benchmark(config, targets, methods,
                                 osp.realpath(osp.join(work_root, f'seed_{s}')), seed=s,
                                 scratch_config=d.get('scratch'),
                                 options=d.get('method_options')) for s in args.seeds}
        first = runs[args.seeds[0]]
        result = dict(first, rows=aggregate(runs), seeds=args.seeds,
                      runs={str(s): r for s, r in runs.items()},
                      dense=mean_std([r['dense'] for r in runs.values()]))
    result.update(task=args.task, config=config, pretrained=pretrained,
                  total_seconds=round(time.time() - started, 1))
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    from colt_det.core import atomic_write_json
    from colt_det.core.io import relative_paths
    result = relative_paths(result, ROOT)  # a clone elsewhere reads it (tickets under ROOT)
    atomic_write_json(out, result)
    print(table(result))
    print(verdict(result))
    print('\n'.join(verdicts(result)))
    plot(result, plots)
    print(f'JSON: {out}; plots: {plots}_*.png')




if __name__ == '__main__':
    main()
