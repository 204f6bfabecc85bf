"""The mAP of trained detectors with their backbone + neck run by onnxruntime, fp32 and INT8.

For each ``NAME=CONFIG:CHECKPOINT``: ``colt-export CHECKPOINT STEM --config CONFIG --onnx --int8
--calib-images N`` (static INT8, QDQ, per-channel, calibrated on the config's training images),
then ``colt-test CONFIG CHECKPOINT`` three times: PyTorch, ``--onnx STEM.onnx`` and ``--onnx
STEM.int8.onnx`` (the rest of the detector stays in PyTorch). Outputs are kept under
``--work``; a finished step is not redone.

Usage:
    .venv/bin/python benchmarks/int8_map.py --runs dense=CFG:CKPT slim=CFG:CKPT \\
        --out benchmarks/results/int8_map_det-hard.json
"""
import argparse
import json
import os
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)


def measure(name: str, config: str, checkpoint: str, work: str, calib: int) -> dict:
    from colt_det.cli import export as export_cmd
    from colt_det.cli import test as test_cmd
    os.makedirs(work, exist_ok=True)
    stem = osp.join(work, name)
    if not osp.exists(stem + '.int8.onnx'):
        assert export_cmd.main([checkpoint, stem, '--config', config, '--onnx', '--int8',
                                '--calib-images', str(calib), '--force']) == 0
    out = dict(config=osp.relpath(config, ROOT), checkpoint=osp.relpath(checkpoint, ROOT),
               calibration_images=calib)
    for run, extra in (('pytorch', []), ('onnxruntime_fp32', ['--onnx', stem + '.onnx']),
                       ('onnxruntime_int8', ['--onnx', stem + '.int8.onnx'])):
        path = osp.join(work, f'{name}_{run}.json')
        if not osp.exists(path):
            if test_cmd.main([config, checkpoint, '--out', path, *extra]) != 0:
                raise SystemExit(f'error: colt-test failed for {name} ({run})')
        with open(path) as f:
            m = json.load(f)
        out[run] = {k: m[k] for k in ('voc07/mAP', 'voc_area/mAP', 'coco/bbox_mAP')}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--runs', nargs='+', required=True, help='NAME=CONFIG:CHECKPOINT')
    parser.add_argument('--calib-images', type=int, default=32)
    parser.add_argument('--work', default=osp.join(ROOT, 'work_dirs', 'int8_map'))
    parser.add_argument('--out', required=True)
    args = parser.parse_args()
    from colt_det.core import atomic_write_json
    result = {}
    for spec in args.runs:
        name, _, rest = spec.partition('=')
        config, _, ckpt = rest.partition(':')
        result[name] = measure(name, osp.abspath(config), osp.abspath(ckpt), args.work,
                               args.calib_images)
        print(name, {k: v['voc07/mAP'] for k, v in result[name].items()
                     if isinstance(v, dict)}, flush=True)
    atomic_write_json(args.out, dict(runs=result, machine=dict(cpu_count=os.cpu_count())))
    print(f'JSON: {args.out}')


if __name__ == '__main__':
    main()
