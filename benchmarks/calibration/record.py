"""Record finished hard-set calibration runs as JSON; print the rows docs/benchmarks/det_hard.md
shows.

Each run is ``NAME=WORK_DIR=WHAT``: a work dir of ``tools/train.py`` (its ``colt_summary.json``)
and a few words on what it trained. ``tests/test_benchmarks.py`` checks that the docs' rows are
the ones this prints from the recorded JSON.

Usage:
    .venv/bin/python benchmarks/calibration/record.py --out benchmarks/results/X.json \\
        dense=work_dirs/hard4_pre_dense='dense, pretrained theta0' ...
    .venv/bin/python benchmarks/calibration/record.py --show benchmarks/results/X.json
"""
import argparse
import os.path as osp
import sys
from typing import List

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
from colt_det.core import (
    atomic_write_json,  # noqa: E402
    read_json,  # noqa: E402
)


def collect(runs: List[str]) -> dict:
    """``NAME=WORK_DIR=WHAT`` strings -> {name: what, work dir, final metric, sparsity, s}."""
    out = {}
    for run in runs:
        name, work_dir, what = run.split('=', 2)
        final = read_json(osp.join(work_dir, 'colt_summary.json'))['final']
        out[name] = dict(what=what, work_dir=work_dir, metric=final['metric'],
                         sparsity=final['sparsity'], seconds=round(final['seconds'], 1))
    return out


def rows(record: dict) -> List[str]:
    """The markdown table rows of a record, as the docs quote them."""
    return [f"| {r['what']} | {r['sparsity']:.0%} | {r['seconds']:.0f} s | {r['metric']:.4f} |"
            for r in record.values()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('runs', nargs='*', help='NAME=WORK_DIR=WHAT')
    parser.add_argument('--out', help='write the record here')
    parser.add_argument('--show', help='print the rows of a recorded JSON')
    args = parser.parse_args()
    if args.show:
        record = read_json(args.show)
    else:
        if not args.runs or not args.out:
            parser.error('give runs and --out (or --show FILE)')
        record = collect(args.runs)
        atomic_write_json(args.out, record)
    print('| run | sparsity | final training | test mAP@0.5 |\n|---|---|---|---|')
    print('\n'.join(rows(record)))


if __name__ == '__main__':
    main()
