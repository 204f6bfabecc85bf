"""The README's main command: COLT on the generated VOC-format demo data, vs a dense model.

Generates the demo data if missing, runs the COLT detection search (N=2, >= 3 rounds), trains the
final ticket, trains a dense model with the same final schedule from the same theta0, and prints
one table. Re-running continues (or just re-prints) the runs found in the work dirs.

Usage:
    python tools/demo.py [--work-dir work_dirs/demo]
"""
import argparse
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', default=osp.join(ROOT, 'work_dirs', 'demo'))
    args = parser.parse_args()

    from mmengine.config import Config

    from colt_det.cli import guarded
    from colt_det.cli.train import run_config
    from colt_det.report import format_summary, load_summary
    from colt_det.search.workdir import WorkDir
    start = time.time()
    summaries = {}
    for name in ('colt_faster_rcnn_demo', 'dense_faster_rcnn_demo'):
        cfg = Config.fromfile(osp.join(ROOT, 'configs', f'{name}.py'))
        cfg.work_dir = osp.join(args.work_dir, name)
        resume = WorkDir(cfg.work_dir).started()
        code = guarded(lambda: run_config(cfg, resume=resume))
        if code:
            return code
        summaries[name] = load_summary(cfg.work_dir)
    colt, dense = summaries['colt_faster_rcnn_demo'], summaries['dense_faster_rcnn_demo']
    print()
    print(format_summary(colt))
    d, t = dense['final']['metric'], colt['final']['metric']
    print(f"dense mAP@0.5 {d:.4f} vs COLT ticket mAP@0.5 {t:.4f} at backbone sparsity "
          f"{colt['final']['sparsity']:.2%} (ticket/dense = {t / d if d else float('nan'):.3f})")
    print(f'demo wall time this run: {time.time() - start:.0f} s')
    return 0


if __name__ == '__main__':
    sys.exit(main())
