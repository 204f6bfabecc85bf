"""What a deployed ticket costs: parameters, FLOPs, checkpoint size, CPU latency and mAP.

For each run (a finished search work dir and its config) the script measures the model users
would ship:

    dense            the dense reference (``final_masked.pth``: nothing is zero)
    unstructured     a weight ticket as mmdet loads it: the dense layout with zeros
    channel (slim)   a channel ticket exported with ``tools/export_ticket.py --slim``

Parameters (all and non-zero), GFLOPs of backbone + neck (``extract_feat``, MMEngine's
FlopAnalyzer; the heads are identical in every variant), checkpoint size, the latency of one
image through the whole detector (``test_step``: preprocessing, backbone, neck, RPN, RoI head,
NMS) and of ``extract_feat`` alone (batch 1, median of ``--repeats`` runs after ``--warmup``), and
VOC07 mAP@0.5 on the config's test set (``tools/test.py``'s evaluation).

Usage (after ``make demo`` and the two channel searches of the demo detector):
    .venv/bin/python tools/train.py configs/channel_colt_faster_rcnn_demo.py
    .venv/bin/python tools/train.py configs/channel_imp_faster_rcnn_demo.py
    .venv/bin/python benchmarks/deploy.py --out benchmarks/results/deploy_det_cpu.json
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

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)

RUNS = [  # name, config, work dir, kind
    ('dense', 'configs/dense_faster_rcnn_demo.py', 'work_dirs/demo/dense_faster_rcnn_demo',
     'dense'),
    ('COLT unstructured (masked)', 'configs/colt_faster_rcnn_demo.py',
     'work_dirs/demo/colt_faster_rcnn_demo', 'masked'),
    ('COLT channel (slim)', 'configs/channel_colt_faster_rcnn_demo.py',
     'work_dirs/channel_colt_faster_rcnn_demo', 'slim'),
    ('IMP channel (slim)', 'configs/channel_imp_faster_rcnn_demo.py',
     'work_dirs/channel_imp_faster_rcnn_demo', 'slim'),
]


def model_files(config: str, work_dir: str, kind: str, tmp: str):
    """(config, checkpoint) of the model to ship: the slim export for channel tickets."""
    from colt_det.search.workdir import WorkDir
    work = WorkDir(work_dir)
    if kind != 'slim':
        return config, work.final_masked
    stem = osp.join(tmp, osp.basename(work_dir) + '_slim')
    tool = _tool('export_ticket')
    if tool.main([work.final_ticket, stem, '--slim', config]) != 0:
        raise SystemExit(f'error: could not export {work.final_ticket}')
    return stem + '.py', stem + '.pth'


def _tool(name: str):
    import importlib.util
    spec = importlib.util.spec_from_file_location(name, osp.join(ROOT, 'tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def one_test_batch(cfg, task):
    """One preprocessed test image (batch 1), as the test dataloader gives it."""
    import copy

    from mmengine.dataset import pseudo_collate
    from mmengine.registry import DATASETS
    with task.scope(cfg):
        dataset = DATASETS.build(copy.deepcopy(cfg.test_dataloader.dataset))
    return pseudo_collate([dataset[0]])


def timed(fn, warmup: int, repeats: int) -> float:
    """Median seconds of ``fn()``."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(name: str, config: str, checkpoint: str, warmup: int, repeats: int) -> dict:
    import torch
    from mmengine.analysis import FlopAnalyzer
    from mmengine.config import Config
    from mmengine.runner import load_checkpoint

    from colt_det.tasks.det.evaluate import evaluate_detector
    from colt_det.tasks.base import get_task
    cfg = Config.fromfile(config)
    task = get_task('det')
    model = task.build_model(cfg)
    load_checkpoint(model, checkpoint, map_location='cpu', strict=True, logger='silent')
    model.eval()
    batch = one_test_batch(cfg, task)
    with torch.no_grad():
        inputs = model.data_preprocessor(batch, False)['inputs']

        class Features(torch.nn.Module):
            def __init__(self, det):
                super().__init__()
                self.det = det

            def forward(self, x):
                return self.det.extract_feat(x)

        flops = FlopAnalyzer(Features(model), (inputs, ))
        flops.unsupported_ops_warnings(False)
        flops.uncalled_modules_warnings(False)
        gflops = flops.total() / 1e9
        latency = timed(lambda: model.test_step(batch), warmup, repeats)
        feat_latency = timed(lambda: model.extract_feat(inputs), warmup, repeats)
    params = sum(p.numel() for p in model.parameters())
    nonzero = sum(int((p != 0).sum()) for p in model.parameters())
    metrics = evaluate_detector(cfg, checkpoint, coco=False)
    return dict(name=name, config=config, checkpoint=checkpoint, params=params,
                nonzero_params=nonzero, gflops_backbone_neck=gflops,
                input_shape=list(inputs.shape), checkpoint_mb=osp.getsize(checkpoint) / 2**20,
                latency_ms=latency * 1e3, extract_feat_ms=feat_latency * 1e3,
                map50=metrics['voc07/mAP'])


def table(rows: list) -> str:
    dense = rows[0]
    head = ('| model | params (M) | non-zero (M) | GFLOPs backbone+neck | checkpoint MB | '
            'latency ms (x dense) | backbone+neck ms | VOC07 mAP@0.5 (vs dense) |')
    lines = [head, '|' + '---|' * 8]
    for r in rows:
        lines.append(
            f"| {r['name']} | {r['params'] / 1e6:.2f} | {r['nonzero_params'] / 1e6:.2f} | "
            f"{r['gflops_backbone_neck']:.3f} | {r['checkpoint_mb']:.1f} | "
            f"{r['latency_ms']:.1f} ({dense['latency_ms'] / r['latency_ms']:.2f}x faster) | "
            f"{r['extract_feat_ms']:.1f} | {r['map50']:.4f} "
            f"({(r['map50'] - dense['map50']) * 100:+.1f} pts) |")
    return '\n'.join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--threads', type=int, default=os.cpu_count(),
                        help='torch CPU threads (default: all cores)')
    parser.add_argument('--warmup', type=int, default=10)
    parser.add_argument('--repeats', type=int, default=50)
    parser.add_argument('--out', help='JSON of the measurements')
    args = parser.parse_args()
    import torch
    torch.set_num_threads(args.threads)
    missing = [w for _, _, w, _ in RUNS if not osp.isfile(osp.join(ROOT, w,
                                                                   'colt_summary.json'))]
    if missing:
        sys.exit(f'error: finished runs missing: {missing}; run the commands in this '
                 f"script's docstring first")
    rows = []
    with tempfile.TemporaryDirectory(prefix='colt_deploy_') as tmp:
        for name, config, work_dir, kind in RUNS:
            cfg_path, ckpt = model_files(osp.join(ROOT, config), osp.join(ROOT, work_dir),
                                         kind, tmp)
            rows.append(measure(name, cfg_path, ckpt, args.warmup, args.repeats))
            print(f"{name}: {rows[-1]['latency_ms']:.1f} ms, mAP {rows[-1]['map50']:.4f}",
                  flush=True)
    print(table(rows))
    if args.out:
        device = dict(cpu=platform.processor() or platform.machine(), threads=args.threads,
                      cpu_count=os.cpu_count(), torch=torch.__version__)
        with open(args.out, 'w') as f:
            json.dump(dict(device=device, warmup=args.warmup, repeats=args.repeats,
                           rows=[{k: v for k, v in r.items() if k not in ('config',
                                                                           'checkpoint')}
                                 for r in rows], table=table(rows)), f, indent=2)


if __name__ == '__main__':
    main()
