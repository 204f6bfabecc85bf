"""Side-by-side table (and plot) of finished searches, e.g. COLT vs IMP vs random:
``colt-compare`` (``tools/compare_runs.py`` in a checkout).

Usage:
    colt-compare WORK_DIR [WORK_DIR ...] [--plot out.png] [--md out.md] [--force]
Existing --plot/--md files are kept unless --force.
"""
import argparse
import os.path as osp
import sys

from . import guarded, refuse_existing


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description='compare COLT/IMP/random searches')
    parser.add_argument('work_dirs', nargs='+')
    parser.add_argument('--plot', help='write a metric-vs-sparsity plot here (PNG)')
    parser.add_argument('--md', help='write the Markdown table here')
    parser.add_argument('--force', action='store_true', help='overwrite existing outputs')
    parser.add_argument('--debug', action='store_true', help='tracebacks for known errors too')
    args = parser.parse_args(argv)
    return guarded(lambda: _main(args), args.debug)


def _main(args) -> int:
    from ..core import atomic_write_bytes
    from ..report import compare_table, load_summary, plot_metric_vs_sparsity
    for path in (args.md, args.plot):
        refuse_existing(path, args.force)
    summaries = [load_summary(d) for d in args.work_dirs]
    names = [osp.basename(osp.normpath(d)) for d in args.work_dirs]
    table = compare_table(summaries, names)
    print(table)
    if args.md:
        atomic_write_bytes(args.md, (table + '\n').encode(), overwrite=args.force)
    if args.plot:
        plot_metric_vs_sparsity(summaries, names, args.plot, overwrite=args.force)
        print(f'plot -> {args.plot}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
