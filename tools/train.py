"""Run a COLT / IMP / random-ticket search (configs with a ``colt`` block) or a plain training.

Usage (the same command as the installed ``python -m colt_det.train`` / ``colt-train``):
    python tools/train.py CONFIG [--work-dir DIR] [--resume] [--cfg-options k=v ...]
        [--amp] [--auto-scale-lr] [--debug]
    torchrun --nproc_per_node 2 tools/train.py CONFIG --launcher pytorch     # DDP, every stage
    srun python tools/train.py CONFIG --launcher slurm                       # DDP under Slurm
    python tools/train.py CONFIG --partition I           # only partition I of every round
    python tools/train.py CONFIG --parallel-partitions   # all N partitions at once, locally
"""
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from colt_det.train import apply_cli_options, main, parse_args  # noqa: E402,F401

if __name__ == '__main__':
    os.environ.setdefault('PYTHONHASHSEED', '0')
    sys.exit(main())
