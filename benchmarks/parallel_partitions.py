"""One COLT round with N partitions: sequential (one process) vs parallel (N processes).

Both runs do the same work: the same config, seed and theta0, one round (``colt.max_rounds=1``),
no final training. The sequential run uses all cores in one process; the parallel run is
``--parallel-partitions`` (cores / N threads per process). Wall time is the whole command
(process start, theta0, the round), measured from outside.

Usage:
    .venv/bin/python benchmarks/parallel_partitions.py [--config configs/colt_faster_rcnn_demo.py]
        [--out benchmarks/results/parallel_partitions_det.json] [--threads 1]
"""
import argparse
import os
import os.path as osp
import shutil
import subprocess
import sys
import tempfile
import time

import torch

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)


def run(config: str, work: str, parallel: bool, threads: int = None) -> float:
    cmd = [sys.executable, osp.join(ROOT, 'tools', 'train.py'), config, '--work-dir', work,
           '--cfg-options', 'colt.max_rounds=1', 'colt.final_train=False']
    if parallel:
        cmd.append('--parallel-partitions')
    env = dict(os.environ)
    env.pop('OMP_NUM_THREADS', None)  # each mode picks its own thread count ...
    if threads:
        env['OMP_NUM_THREADS'] = str(threads)  # ... unless both are given the same
    start = time.time()
    res = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.time() - start
    if res.returncode != 0:
        sys.exit(f'error: {" ".join(cmd)} failed:\n{res.stderr[-2000:]}')
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', default='configs/colt_faster_rcnn_demo.py')
    parser.add_argument('--out', help='JSON file for the numbers')
    parser.add_argument('--threads', type=int,
                        help='threads per process in both modes (default: all cores for the '
                             'sequential run, cores / N per parallel process)')
    args = parser.parse_args()
    from colt_det.core import load_mask, read_ticket_meta
    from colt_det.core.masks import jaccard
    from colt_det.search.workdir import WorkDir

    tmp = tempfile.mkdtemp(prefix='colt_parallel_')
    try:
        # demo data generated before timing (the first run would otherwise pay for it)
        from mmengine.config import Config
        cfg = Config.fromfile(osp.join(ROOT, args.config))
        if cfg.get('demo_data'):
            from colt_det.synthetic import ensure_demo_data
            ensure_demo_data(osp.join(ROOT, 'data', 'demo'), cfg.demo_data)
        works = {m: osp.join(tmp, m) for m in ('sequential', 'parallel')}
        seconds = {m: run(args.config, works[m], m == 'parallel', args.threads) for m in works}
        tickets = {m: WorkDir(w).round_ticket(1) for m, w in works.items()}
        masks = {m: load_mask(t) for m, t in tickets.items()}
        agree = [jaccard(masks['sequential'][n], masks['parallel'][n])
                 for n in masks['sequential']]
        flat = {m: torch.cat([v.flatten() for v in masks[m].values()]) for m in masks}
        result = dict(config=args.config, cpu_count=os.cpu_count(), threads=args.threads,
                      num_partitions=len(read_ticket_meta(tickets['sequential'])['partitions']),
                      sequential_seconds=round(seconds['sequential'], 1),
                      parallel_seconds=round(seconds['parallel'], 1),
                      parallel_over_sequential=round(seconds['parallel'] / seconds['sequential'],
                                                     3),
                      sparsity=read_ticket_meta(tickets['sequential'])['sparsity'],
                      min_layer_jaccard_seq_vs_par=round(min(agree), 6),
                      jaccard_seq_vs_par=round(jaccard(flat['sequential'], flat['parallel']),
                                               6))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{'mode':<12}{'seconds':>9}\n{'sequential':<12}{result['sequential_seconds']:>9}\n"
          f"{'parallel':<12}{result['parallel_seconds']:>9}\n"
          f"parallel / sequential = {result['parallel_over_sequential']:.3f} "
          f"({result['num_partitions']} partitions, {result['cpu_count']} cores; mask Jaccard "
          f"sequential vs parallel {result['jaccard_seq_vs_par']}, lowest layer "
          f"{result['min_layer_jaccard_seq_vs_par']})")
    if args.out:
        from colt_det.core import atomic_write_json
        atomic_write_json(args.out, result)


if __name__ == '__main__':
    main()
