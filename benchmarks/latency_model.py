"""Does the latency table predict time better than MACs? The det-hard detector's whole tensor
part at VOC scale, dense and random channel architectures, timed against both models.

The table (:class:`colt_det.core.latency.LatencyTable`, what ``progressive.normalize='latency'``
ranks by) is measured once on this CPU for the dense detector at ``--input``; ``--archs``
random architectures (each channel group kept at a random width, a multiple of 8, its
fraction drawn from [low, 1] with low one of 0.1 / 0.3 / 0.5 per architecture) are built as
slim models and their whole detector (backbone, neck, RPN head, RoI head at the test-time
proposal count: ``colt_det.core.prunable.WholeDetector``) timed eager, interleaved
(``colt_det.deploy.measure.interleaved_latency``). Each predictor (the MACs, the table's
milliseconds) is fitted to the measured times by least squares with an intercept (the time
neither counts: pooling, upsampling, the fixed-width output layers); the JSON records each
fit's relative errors and, per architecture, the measured and predicted speed-ups.

Usage:
    .venv/bin/python benchmarks/latency_model.py [--archs 16] [--out X.json]
"""
import argparse
import os.path as osp
import platform
import random
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)

CONFIG = 'configs/colt_faster_rcnn_hard_channels.py'
INPUT = (608, 1024)


def _fit(x, y):
    """Least squares ``y ~ a + b x``: (a, b, relative errors)."""
    n = len(x)
    mx, my = sum(x) / n, sum(y) / n
    b = sum((u - mx) * (v - my) for u, v in zip(x, y)) / sum((u - mx) ** 2 for u in x)
    a = my - b * mx
    return a, b, [abs(a + b * u - v) / v for u, v in zip(x, y)]


def table(result: dict) -> str:
    """The two fits side by side (the docs' table)."""
    rows = ['| predictor | mean relative error | max relative error | intercept ms |',
            '|---|---|---|---|']
    names = dict(macs='MACs (whole detector)', table_ms='latency table (ms)')
    for key, f in result['fits'].items():
        rows.append(f"| {names.get(key, key)} | {100 * f['mean_rel_error']:.1f}% | "
                    f"{100 * f['max_rel_error']:.1f}% | {f['intercept_ms']:.1f} |")
    dense = result['rows'][0]
    rows.append(f"\n{len(result['rows']) - 1} random architectures and dense "
                f"({dense['measured_ms']:.1f} ms) at {result['input_size'][1]} x "
                f"{result['input_size'][0]}, {result['device']['threads']} threads; the "
                f"table took {result['table_seconds']:g} s to measure.")
    return '\n'.join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--archs', type=int, default=16)
    parser.add_argument('--input', type=int, nargs=2, default=list(INPUT), metavar=('H', 'W'))
    parser.add_argument('--runs', type=int, default=7)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', default=osp.join(ROOT, 'benchmarks', 'results',
                                                  'latency_model_cpu.json'))
    args = parser.parse_args()
    import torch
    from mmengine.config import Config

    from colt_det.core import atomic_write_json, ones_mask
    from colt_det.core.channels import channel_mask, channel_param_names
    from colt_det.core.latency import LatencyTable
    from colt_det.core.prunable import (
        WholeDetector,
        channel_cost,
        channel_groups,
        detector_inputs,
        test_proposals,
    )
    from colt_det.deploy.measure import interleaved_latency
    from colt_det.deploy.slim import slim_copy
    from colt_det.tasks.base import get_task
    size = tuple(args.input)
    torch.manual_seed(args.seed)
    dense = get_task('det').build_model(Config.fromfile(osp.join(ROOT, CONFIG))).eval()
    groups = channel_groups(dense, 'detector')
    cost = channel_cost(dense, 'detector', size, groups)
    started = time.time()
    table = LatencyTable.measure(cost, divisor=8)
    table_seconds = time.time() - started
    rng = random.Random(args.seed)
    archs = [('dense', None)]
    for k in range(args.archs):
        low = rng.choice([0.1, 0.3, 0.5])
        keeps = []
        for g in groups:
            n = max(8, int(round(g.channels * rng.uniform(low, 1.0) / 8)) * 8)
            keeps.append(torch.arange(g.channels) < min(n, g.channels))
        archs.append((f'random {k}', channel_mask(ones_mask(dense, channel_param_names(groups)),
                                                  groups, keeps)))
    runners, rows = {}, []
    for name, mask in archs:
        model = dense if mask is None else slim_copy(dense, mask, groups).eval()
        whole = WholeDetector(model).eval()
        inputs = detector_inputs(model, torch.randn(1, 3, *size), test_proposals(model))

        def run(whole=whole, inputs=inputs):
            with torch.no_grad():
                whole(*inputs)
        runners[name] = run
        rows.append(dict(name=name, macs=cost.macs(mask), table_ms=table.ms(cost, mask)))
    times = interleaved_latency(runners, args.runs, 2, args.repeats)
    for r in rows:
        r['measured_ms'] = 1e3 * times[r['name']]['median']
        r['spread_ms'] = 1e3 * times[r['name']]['spread']
    measured = [r['measured_ms'] for r in rows]
    fits = {}
    for key in ('macs', 'table_ms'):
        a, b, err = _fit([r[key] for r in rows], measured)
        fits[key] = dict(intercept_ms=a, slope=b, mean_rel_error=sum(err) / len(err),
                         max_rel_error=max(err))
        for r, e in zip(rows, err):
            pred_dense = a + b * rows[0][key]
            r[f'speedup_by_{key}'] = pred_dense / (a + b * r[key])
    for r in rows:
        r['speedup'] = rows[0]['measured_ms'] / r['measured_ms']
    result = dict(config=CONFIG, input_size=list(size), archs=args.archs, seed=args.seed,
                  runs=args.runs, repeats=args.repeats, table_seconds=round(table_seconds, 1),
                  fits=fits, rows=rows,
                  device=dict(cpu=platform.machine(), threads=torch.get_num_threads(),
                              torch=torch.__version__))
    atomic_write_json(args.out, result)
    print(table(result))
    print(f'JSON: {args.out}')


if __name__ == '__main__':
    main()
