"""What CI costs on a fresh clone: ``bash .ci/run`` (set-up with the mmcv build + the suite).

Clones this checkout's HEAD into a temporary folder, runs ``bash .ci/run`` there with an empty
wheel cache (``COLT_DET_CACHE``), so mmcv is built from its sdist as on a fresh machine, and
records the set-up seconds (the mmcv build apart), the pytest summary and the total.

Usage:
    .venv/bin/python benchmarks/ci_setup.py [--keep-cache] \
        [--out benchmarks/results/setup_ci_cpu.json]
"""
import argparse
import datetime
import os
import os.path as osp
import re
import subprocess
import sys
import tempfile
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)

BUILD = re.compile(r'build mmcv \S+ wheel with ops done \((\d+) s\)')
SUMMARY = re.compile(r'(\d+) passed(?:, (\d+) skipped)?.* in ([\d.]+)s')


def parse(log: str) -> dict:
    """The mmcv build seconds and pytest's counts and seconds from ``.ci/run``'s output."""
    build = BUILD.search(log)
    summary = SUMMARY.findall(log)
    if not summary:
        raise SystemExit('no pytest summary in the output of .ci/run: see the log above')
    passed, skipped, seconds = summary[-1]
    return dict(mmcv_build_seconds=int(build.group(1)) if build else 0, passed=int(passed),
                skipped=int(skipped or 0), test_seconds=float(seconds))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('--keep-cache', action='store_true',
                        help="use the machine's mmcv wheel cache (no build)")
    parser.add_argument('--out', default=osp.join(ROOT, 'benchmarks', 'results',
                                                  'setup_ci_cpu.json'))
    args = parser.parse_args()
    from colt_det.core import atomic_write_json
    with tempfile.TemporaryDirectory() as tmp:
        clone = osp.join(tmp, 'clone')
        subprocess.run(['git', 'clone', '-q', ROOT, clone], check=True)
        shared = osp.realpath(osp.join(ROOT, '..', 'shared'))
        if osp.isdir(shared):  # the two real VOC images the suite reads from ../shared
            os.symlink(shared, osp.join(tmp, 'shared'))
        env = dict(os.environ)
        for k in ('VIRTUAL_ENV', 'PYTHONPATH', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS'):
            env.pop(k, None)
        if not args.keep_cache:
            env['COLT_DET_CACHE'] = osp.join(tmp, 'cache')
        start = time.time()
        proc = subprocess.run(['bash', '.ci/run'], cwd=clone, env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        total = time.time() - start
        print(proc.stdout[-3000:])
        if proc.returncode:
            raise SystemExit(f'.ci/run failed (exit {proc.returncode}): see the output above')
        head = subprocess.run(['git', 'rev-parse', 'HEAD'], cwd=clone, text=True, check=True,
                              stdout=subprocess.PIPE).stdout.strip()
    row = parse(proc.stdout)
    row.update(date=datetime.date.today().isoformat(), commit=head, cores=os.cpu_count(),
               total_seconds=round(total), setup_seconds=round(total - row['test_seconds']),
               mmcv_built=not args.keep_cache, command='bash .ci/run (fresh clone)')
    atomic_write_json(args.out, row)
    print(f'JSON: {args.out}')


if __name__ == '__main__':
    main()
