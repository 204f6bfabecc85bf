"""Shared command-line plumbing: one-line errors for bad input, demo data on first use."""
import sys

from mmengine.config import Config

from .core import TicketError

# Errors that mean "bad input": reported in one line, no traceback, non-zero exit.
USER_ERRORS = (ValueError, FileNotFoundError, FileExistsError, TicketError)


def run_config(cfg: Config, resume: bool = False) -> int:
    """Run the search (or plain training) a config describes; returns the exit code."""
    from .engine.search import ColtSearch, SearchError
    from .engine.hooks import NonFiniteLossError
    try:
        if cfg.get('demo_data'):
            from .demo_data import ensure_demo_data
            ensure_demo_data(cfg.get('demo_data_root', 'data/demo'), cfg.demo_data)
        if 'colt' not in cfg:
            from mmengine.runner import Runner
            cfg.resume = resume
            Runner.from_cfg(cfg).train()
            return 0
        summary = ColtSearch(cfg, resume=resume).run()
    except (SearchError, NonFiniteLossError) + USER_ERRORS as e:
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        print(f'error: {msg}', file=sys.stderr)
        return 1
    print(format_summary(summary))
    return 0


def format_summary(summary: dict) -> str:
    """The search as a table: round, sparsity, partition metrics, seconds; then the final."""
    key = summary.get('metric_key', 'metric')
    lines = [f"{summary['method'].upper()} N={summary['num_partitions']} "
             f"p={summary['prune_ratio']} ({key})",
             f"{'round':>5} {'sparsity':>9} {'partition metrics':<28} {'jaccard':>7} "
             f"{'seconds':>8}"]
    for r in summary['rounds']:
        ms = ' '.join('n/a' if p['metric'] is None else f"{p['metric']:.3f}"
                      for p in r['partitions'])
        lines.append(f"{r['round']:>5} {r['sparsity']:>9.2%} {ms:<28} "
                     f"{r['overlap']['mean_jaccard']:>7.3f} {r['seconds']:>8.1f}")
    f = summary.get('final')
    if f:
        m = 'n/a' if f['metric'] is None else f"{f['metric']:.4f}"
        lines.append(f"final: sparsity {f['sparsity']:.2%}, {f['metric_split']} {key} {m}, "
                     f"{f['seconds']:.1f} s")
    return '\n'.join(lines)
