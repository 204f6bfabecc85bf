"""``python -m colt_det.train``: the same command as ``colt-train`` (:mod:`colt_det.cli.train`).

Kept as the module partition processes (``--parallel-partitions``) and cluster scripts start.
"""
import os
import sys

from .cli.train import apply_cli_options, main, parse_args, run_config  # noqa: F401

if __name__ == '__main__':
    os.environ.setdefault('PYTHONHASHSEED', '0')
    sys.exit(main())
