"""Side-by-side table (and plot) of finished searches, e.g. COLT vs IMP vs random.

Usage:
    python tools/compare_runs.py WORK_DIR [WORK_DIR ...] [--plot out.png] [--md out.md]
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description='compare COLT/IMP/random searches')
    parser.add_argument('work_dirs', nargs='+')
    parser.add_argument('--plot', help='write a metric-vs-sparsity plot here (PNG)')
    parser.add_argument('--md', help='write the Markdown table here')
    args = parser.parse_args(argv)
    from colt_det.report import compare_table, load_summary, plot_metric_vs_sparsity
    try:
        summaries = [load_summary(d) for d in args.work_dirs]
    except FileNotFoundError as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    names = [osp.basename(osp.normpath(d)) for d in args.work_dirs]
    table = compare_table(summaries, names)
    print(table)
    if args.md:
        with open(args.md, 'w') as f:
            f.write(table + '\n')
    if args.plot:
        plot_metric_vs_sparsity(summaries, names, args.plot)
        print(f'plot -> {args.plot}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
