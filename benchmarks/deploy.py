"""Latency that can be trusted: slim detectors' backbone + neck, eager torch and onnxruntime.

Batch 1; every model runs ``--warmup`` times, then ``--runs`` timed calls whose median counts;
that is repeated ``--repeats`` times with the models interleaved (every model once per round),
so a drift of the machine hits all alike; the table gives the median of the rounds' medians and
their spread (max - min). Two detectors:

* ``det-hard`` (128 x 128): the dense detector and the slim tickets of
  ``benchmarks/channel_tickets.py`` (its JSON's exports), at their trained weights;
* ``voc`` (1024 x 608, VOC's 1000 x 600 padded to 32): the R-50 FPN of
  ``configs/colt_faster_rcnn_voc.py`` from a random theta0 (latency does not depend on the
  values; the stem and layer1 in the channel groups as in the det-hard benchmark), dense and
  one-shot deep channel tickets (filter L1, widths a multiple of 8) whose backbone + neck MACs
  are each level's.

``--detectors found`` times the det-hard architectures a channel benchmark found (its JSON's slim
exports of one seed, ``--channel-json``, ``--seed``; at their trained weights) as *whole
detectors*: the tensor layers of backbone, neck, RPN head and RoI head with the test-time
proposal count (``colt_det.core.prunable.WholeDetector``: RoI pooling, anchors and NMS aside) in
eager torch, and the ONNX part (backbone + neck + RPN head) in onnxruntime, at their own input
size and at VOC scale (latency depends on the architecture and the input, not on the data).

``--int8`` adds each model's onnxruntime static INT8 (``colt_det.deploy.int8``: QDQ, per-channel
weights), timed beside its fp32 part and against dense fp32 (``deploy.int8_table``).

Usage:
    .venv/bin/python benchmarks/deploy.py [--detectors det-hard voc] [--runs 50 --repeats 3]
    .venv/bin/python benchmarks/deploy.py --detectors voc --int8 --levels 0.5 --out X.json
"""
import argparse
import json
import os
import os.path as osp
import platform
import statistics
import sys
import tempfile
import time
from typing import List, Optional

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)

VOC_CONFIG = 'configs/colt_faster_rcnn_voc.py'
VOC_INPUT = (608, 1024)
LEVELS = (0.5, 0.33, 0.25)
LEVEL_OF = 'extract_feat'  # levels: fractions of the backbone + neck's MACs


def _runners(name: str, model, size, tmp: str, threads: int, int8: bool = False) -> dict:
    """Eager and onnxruntime calls of ``model``'s backbone + neck (``int8``: also its
    onnxruntime static INT8, :mod:`colt_det.deploy.int8`, calibrated on random inputs: these
    models' values are random too, so only the latency is measured)."""
    import torch

    from colt_det.deploy.onnx import TensorPart, onnx_session
    part = TensorPart(model, with_rpn=False).eval()
    x = torch.randn(1, 3, *size)
    path = osp.join(tmp, f'{len(os.listdir(tmp))}.onnx')
    with torch.no_grad():
        torch.onnx.export(part, (x,), path, dynamo=False, opset_version=17,
                          input_names=['image'])
    session = onnx_session(path, threads)
    feed = {'image': x.numpy()}

    def eager():
        with torch.no_grad():
            part(x)
    out = {f'{name}|eager': eager, f'{name}|onnxruntime': lambda: session.run(None, feed)}
    if int8:
        from colt_det.deploy.int8 import quantize_int8
        g = torch.Generator().manual_seed(0)
        q = quantize_int8(path, path[:-5] + '.int8.onnx',
                          [torch.randn(1, 3, *size, generator=g).numpy() for _ in range(4)])
        q_session = onnx_session(q, threads)
        out[f'{name}|onnxruntime-int8'] = lambda: q_session.run(None, feed)
    return out


def det_hard_models(channel_json: str, seed: Optional[int] = None):
    """(name, model, MACs fractions, mAP) of dense and every slim ticket of the JSON (of
    ``seed``'s run, default its first seed)."""
    import torch

    from colt_det.core.io import resolve_path
    from colt_det.deploy.onnx import load_detector
    with open(channel_json) as f:
        result = json.load(f)
    runs = result.get('runs', {}).get(str(result['seeds'][0] if seed is None else seed))
    rows = (runs or result)['rows']
    from colt_det.search.workdir import WorkDir
    dense_work = osp.join(ROOT, 'work_dirs', 'bench_channels_det-hard', 'dense')
    if rows and rows[0].get('work'):  # the dense run beside the tickets' (its seed's)
        dense_work = osp.join(osp.dirname(resolve_path(rows[0]['work'], ROOT)), 'dense')
    sys.path.insert(0, osp.join(ROOT, 'benchmarks'))
    import search_cost
    cfg = search_cost.load_cfg(result['config'], dense_work, {})
    from colt_det.tasks.base import get_task
    dense = get_task('det').build_model(cfg).eval()
    state = torch.load(WorkDir(dense_work).final_masked, map_location='cpu',
                       weights_only=False)['state_dict']
    dense.load_state_dict(state)
    out = [('dense', dense, dict(backbone=1.0, extract_feat=1.0, detector=1.0),
            ((runs or result)['dense'] or result['dense'])['metric'])]
    for r in rows:
        slim = resolve_path(r['slim'], ROOT) if r.get('slim') else osp.join(
            ROOT, 'work_dirs', 'bench_channels_det-hard', f"{r['method']}_final_{r['level']:g}",
            'slim', 'slim')
        model, _ = load_detector(slim + '.py', slim + '.pth')
        out.append((f"{r['method']} {r['level']:g}", model,
                    dict(backbone=r['macs_backbone'], extract_feat=r['macs_backbone_neck'],
                         detector=r.get('macs_detector')), r['metric']))
    return out, tuple(result['input_size'])


def _whole_runners(name: str, model, size, tmp: str, threads: int) -> dict:
    """The whole detector's tensor layers in eager torch (the RoI head at the test-time
    proposal count) and its ONNX part (backbone + neck + RPN head) in onnxruntime."""
    import torch

    from colt_det.core.prunable import WholeDetector, detector_inputs, test_proposals
    from colt_det.deploy.onnx import TensorPart, onnx_session
    whole = WholeDetector(model).eval()
    inputs = detector_inputs(model, torch.randn(1, 3, *size), test_proposals(model))
    part = TensorPart(model, with_rpn=True).eval()
    path = osp.join(tmp, f'{len(os.listdir(tmp))}.onnx')
    with torch.no_grad():
        torch.onnx.export(part, (inputs[0],), path, dynamo=False, opset_version=17,
                          input_names=['image'])
    session = onnx_session(path, threads)
    feed = {'image': inputs[0].numpy()}

    def eager():
        with torch.no_grad():
            whole(*inputs)
    return {f'{name}|eager': eager, f'{name}|onnxruntime': lambda: session.run(None, feed)}


def found_rows(channel_json: str, seed: Optional[int], sizes, args, threads: int) -> List[dict]:
    """Latency rows of the found det-hard architectures as whole detectors, per input size:
    one interleaved measurement per size, speed-ups against dense at the same size."""
    from colt_det.deploy.measure import detector_macs, interleaved_latency
    models, own = det_hard_models(channel_json, seed)
    rows = []
    for size in [tuple(own)] + [tuple(x) for x in sizes if tuple(x) != tuple(own)]:
        with tempfile.TemporaryDirectory() as tmp:
            runners = {}
            for name, model, _, _ in models:
                runners.update(_whole_runners(name, model, size, tmp, threads))
            times = interleaved_latency(runners, args.runs, args.warmup, args.repeats)
        dense_macs = detector_macs(models[0][1], size)
        at = []
        for name, model, macs, metric in models:
            parts = detector_macs(model, size)
            row = dict(name=name, input_size=list(size), metric=metric,
                       params=sum(p.numel() for p in model.parameters()),
                       macs=parts, macs_detector=parts['total'] / dense_macs['total'],
                       macs_level=macs)
            for rt in ('eager', 'onnxruntime'):
                t = times[f'{name}|{rt}']
                row[f'{rt}_ms'], row[f'{rt}_spread_ms'] = 1e3 * t['median'], 1e3 * t['spread']
            at.append(row)
        for row in at:
            for rt in ('eager', 'onnxruntime'):
                row[f'{rt}_speedup'] = at[0][f'{rt}_ms'] / row[f'{rt}_ms']
        rows += at
    return rows


def found_table(det: dict) -> str:
    """The found architectures' whole-detector latency, per input size."""
    lines = ['| model | input | whole-detector MACs | eager ms (whole) | onnxruntime ms '
             '(backbone+neck+RPN) | speed-up (eager / onnxruntime) | mAP@0.5 |',
             '|---|---|---|---|---|---|---|']
    for r in det['rows']:
        h, w = r['input_size']
        m = '-' if r['metric'] is None else f"{r['metric']:.4f}"
        lines.append(f"| {r['name']} | {w} x {h} | {r['macs_detector']:.3f}x "
                     f"({r['macs']['total'] / 1e9:.2f} G) | {r['eager_ms']:.1f} ± "
                     f"{r['eager_spread_ms']:.1f} | {r['onnxruntime_ms']:.1f} ± "
                     f"{r['onnxruntime_spread_ms']:.1f} | {r['eager_speedup']:.2f}x / "
                     f"{r['onnxruntime_speedup']:.2f}x | {m} |")
    return '\n'.join(lines)


def voc_models(levels=LEVELS):
    """(name, model, MACs fractions, None) of the VOC-scale R-50 FPN: dense and one-shot
    deep channel tickets at each level."""
    import torch
    from mmengine.config import Config

    from colt_det.core.channels import channel_prune
    from colt_det.core.prunable import channel_groups
    from colt_det.deploy.measure import feature_macs, ratio_for_macs
    from colt_det.deploy.slim import slim_copy
    from colt_det.tasks.base import get_task
    cfg = Config.fromfile(osp.join(ROOT, VOC_CONFIG))
    cfg.model.backbone.frozen_stages = -1  # the stem and layer1 prunable, as in det-hard's
    torch.manual_seed(0)
    dense = get_task('det').build_model(cfg).eval()
    groups = channel_groups(dense, 'deep')
    base = {p: feature_macs(dense, VOC_INPUT, p) for p in ('backbone', 'extract_feat')}
    weights = dict(dense.named_parameters())
    ones = {n: torch.ones_like(weights[n], dtype=torch.bool) for g in groups for n in g.producers}
    out = [('R-50 FPN dense', dense, dict(backbone=1.0, extract_feat=1.0), None)]

    def slim_at(ratio):
        mask = channel_prune(weights, ones, groups, ratio, 'layer', 'l1', 8)
        model = slim_copy(dense, mask, groups).eval()
        return model, {p: feature_macs(model, VOC_INPUT, p) / base[p] for p in base}
    for level in levels:  # the ratio whose backbone + neck MACs are the level's
        ratio, _ = ratio_for_macs(lambda r: slim_at(r)[1][LEVEL_OF], level, steps=10)
        model, macs = slim_at(ratio)
        out.append((f'R-50 FPN one-shot {level:g}', model, macs, None))
    return out, base


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--detectors', nargs='+', default=['det-hard', 'voc'],
                        choices=['det-hard', 'voc', 'found'])
    parser.add_argument('--seed', type=int, default=None,
                        help="found: the channel JSON's run whose tickets are timed")
    parser.add_argument('--channel-json', default=osp.join(
        ROOT, 'benchmarks', 'results', 'channel_tickets_det-hard.json'))
    parser.add_argument('--runs', type=int, default=50)
    parser.add_argument('--warmup', type=int, default=5)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--int8', action='store_true',
                        help='also onnxruntime static INT8 of every model (latency only)')
    parser.add_argument('--levels', type=float, nargs='+', default=list(LEVELS),
                        help='voc: the channel tickets\' backbone + neck MACs levels')
    parser.add_argument('--out', default=osp.join(ROOT, 'benchmarks', 'results',
                                                  'deploy_latency_cpu.json'))
    args = parser.parse_args()
    import torch

    from colt_det.core import atomic_write_json
    from colt_det.deploy.measure import interleaved_latency
    threads = torch.get_num_threads()
    result = dict(device=dict(cpu=platform.machine(), processor=platform.processor(),
                              threads=threads, cpu_count=os.cpu_count(),
                              torch=torch.__version__),
                  runs=args.runs, warmup=args.warmup, repeats=args.repeats, detectors={})
    for det in args.detectors:
        started = time.time()
        if det == 'found':
            rows = found_rows(args.channel_json, args.seed, [VOC_INPUT], args, threads)
            result['detectors'][det] = dict(rows=rows, channel_json=osp.relpath(
                osp.abspath(args.channel_json), ROOT), seconds=round(time.time() - started))
            print(found_table(result['detectors'][det]))
            continue
        if det == 'det-hard':
            models, size = det_hard_models(args.channel_json)
            base = None
        else:
            (models, base), size = voc_models(args.levels), VOC_INPUT
        rows = []
        with tempfile.TemporaryDirectory() as tmp:
            runners = {}
            for name, model, macs, metric in models:
                runners.update(_runners(name, model, size, tmp, threads, args.int8))
                rows.append(dict(name=name, params=sum(p.numel() for p in model.parameters()),
                                 macs_backbone=macs['backbone'],
                                 macs_backbone_neck=macs['extract_feat'], metric=metric))
            times = interleaved_latency(runners, args.runs, args.warmup, args.repeats)
        kinds = ('eager', 'onnxruntime') + (('onnxruntime-int8',) if args.int8 else ())
        for row in rows:
            for rt in kinds:
                t = times[f"{row['name']}|{rt}"]
                key = rt.replace('-', '_')
                row[f'{key}_ms'] = 1e3 * t['median']
                row[f'{key}_spread_ms'] = 1e3 * t['spread']
        dense = rows[0]
        for row in rows:
            for rt in kinds:
                key = rt.replace('-', '_')
                row[f'{key}_speedup'] = dense[f'{key}_ms'] / row[f'{key}_ms']
            if args.int8:  # against what a user has without either: dense fp32 onnxruntime
                row['onnxruntime_int8_vs_fp32_dense'] = dense['onnxruntime_ms'] / \
                    row['onnxruntime_int8_ms']
        result['detectors'][det] = dict(input_size=list(size), rows=rows,
                                        dense_macs=base, seconds=round(time.time() - started))
        print(table(result['detectors'][det], det))
        if args.int8:
            print(int8_table(result['detectors'][det], det))
    atomic_write_json(args.out, result)
    print(f'JSON: {args.out}')


def int8_table(det: dict, name: str) -> str:
    """fp32 and INT8 onnxruntime latency of every model, against dense fp32."""
    h, w = det['input_size']
    lines = [f'{name} ({w} x {h}), backbone + neck, batch 1, onnxruntime',
             '| model | backbone+neck MACs | fp32 ms | INT8 ms | INT8 vs its fp32 | '
             'vs dense fp32 |', '|---|---|---|---|---|---|']
    for r in det['rows']:
        lines.append(f"| {r['name']} | {r['macs_backbone_neck']:.3f}x | "
                     f"{r['onnxruntime_ms']:.1f} ± {r['onnxruntime_spread_ms']:.1f} | "
                     f"{r['onnxruntime_int8_ms']:.1f} ± {r['onnxruntime_int8_spread_ms']:.1f} | "
                     f"{r['onnxruntime_ms'] / r['onnxruntime_int8_ms']:.2f}x | "
                     f"{r['onnxruntime_int8_vs_fp32_dense']:.2f}x |")
    return '\n'.join(lines)


def table(det: dict, name: str) -> str:
    h, w = det['input_size']
    lines = [f'{name} ({w} x {h}), backbone + neck, batch 1',
             '| model | params | backbone MACs | backbone+neck MACs | eager ms | onnxruntime ms | '
             'speed-up (eager / onnxruntime) | mAP@0.5 |', '|---|---|---|---|---|---|---|---|']
    for r in det['rows']:
        m = '-' if r['metric'] is None else f"{r['metric']:.4f}"
        lines.append(f"| {r['name']} | {r['params']:,} | {r['macs_backbone']:.3f}x | "
                     f"{r['macs_backbone_neck']:.3f}x | {r['eager_ms']:.1f} ± "
                     f"{r['eager_spread_ms']:.1f} | {r['onnxruntime_ms']:.1f} ± "
                     f"{r['onnxruntime_spread_ms']:.1f} | {r['eager_speedup']:.2f}x / "
                     f"{r['onnxruntime_speedup']:.2f}x | {m} |")
    return '\n'.join(lines)


SPEED_UP = 2.0  # issue 27's bar: backbone + neck, CPU, VOC scale


WITHIN = 0.01  # "as accurate as dense": within 1 mAP point, decided by TOST


def verdict(latency: dict, channels: dict, seeds: Optional[dict] = None) -> List[str]:
    """Is a colt_det channel ticket >= 2x faster than dense (backbone + neck, CPU, VOC scale)
    and within 1 mAP point of dense on det-hard? Per level: the VOC-scale speed-ups of the
    R-50 FPN ticket at that level's backbone + neck MACs, and the best of colt_det's own
    tickets at the level on det-hard (over the seeds where ``seeds`` has the level)."""
    from colt_det.report.stats import describe, equivalence, paired, seed_values

    from channel_tickets import OWN
    voc = {r['name']: r for r in latency['detectors'].get('voc', {}).get('rows', [])}
    lines, hit = [], []
    for level in LEVELS:
        r = voc.get(f'R-50 FPN one-shot {level:g}')
        source = seeds if seeds and any(x['level'] == level for x in seeds['rows']) else channels
        rows = [x for x in source['rows'] if x['level'] == level and x['method'] in OWN]
        if r is None or not rows or not source.get('dense'):
            continue
        best = max(rows, key=lambda x: x['metric'])
        dense = seed_values(source['dense'])
        diff = paired(seed_values(best), dense)
        fast = max(r['eager_speedup'], r['onnxruntime_speedup']) >= SPEED_UP
        lines.append(f"{level:g}x backbone+neck MACs: VOC-scale speed-up "
                     f"{r['eager_speedup']:.2f}x eager / {r['onnxruntime_speedup']:.2f}x "
                     f"onnxruntime (at {r['macs_backbone_neck']:.3f}x); det-hard best "
                     f"{best['method']} {best['metric']:.4f} vs dense "
                     f"{statistics.mean(dense):.4f}: {describe(diff, WITHIN)}")
        if fast and equivalence(diff, WITHIN) == 'within':
            hit.append(f'{level:g}x ({best["method"]})')
    lines.append(f'>= {SPEED_UP:g}x faster and within 1 point (TOST): '
                 + (', '.join(hit) if hit else 'none of the levels'))
    return lines


GOAL_SPEED_UP = 1.8  # issue 34's bar at 0.5x: the whole detector, CPU, VOC scale


def whole_verdict(found: dict, channels: dict, margin_of=None) -> List[str]:
    """Issue 34's goal per level of a whole-detector channel benchmark (``channels``, its
    seeds): each of colt_det's own tickets (best first) against dense (paired per seed, TOST
    within 1 point at 0.5x, 3 points below), and the VOC-scale whole-detector speed-up of each
    method's found architecture (``found``: :func:`found_rows` of one seed) in eager torch."""
    from colt_det.report.stats import describe, equivalence, paired, seed_values

    from channel_tickets import OWN, level_size
    margin_of = margin_of or (lambda level: 0.01 if level >= 0.5 else 0.03)
    voc = {r['name']: r for r in found['rows'] if tuple(r['input_size']) == VOC_INPUT}
    dense = seed_values(channels['dense'])
    size = level_size(channels)
    at = ' at {1} x {0}'.format(*size) if size else ''
    lines = []
    for level in channels['levels']:
        rows = [x for x in channels['rows'] if x['level'] == level and x['method'] in OWN]
        if not rows:
            continue
        for best in sorted(rows, key=lambda x: -x['metric']):  # every own method, best first
            diff = paired(seed_values(best), dense)
            margin = margin_of(level)
            r = voc.get(f"{best['method']} {level:g}")
            speed = (f"VOC-scale whole detector {r['eager_speedup']:.2f}x eager / "
                     f"{r['onnxruntime_speedup']:.2f}x onnxruntime (backbone+neck+RPN)"
                     if r else 'VOC-scale latency not measured')
            ok = r is not None and r['eager_speedup'] >= GOAL_SPEED_UP and equivalence(
                diff, margin) == 'within'
            lines.append(f"{level:g}x whole-detector MACs{at}: {best['method']} "
                         f"{best['metric']:.4f} vs "
                         f"dense {statistics.mean(dense):.4f}: {describe(diff, margin)}; "
                         f"{speed}: goal (>= {GOAL_SPEED_UP:g}x, within {margin * 100:g} "
                         f"points) " + ('met' if ok else 'not met'))
    return lines


if __name__ == '__main__':
    main()
