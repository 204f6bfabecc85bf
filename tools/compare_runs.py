"""``colt-compare`` from a checkout: see :mod:`colt_det.cli.compare` (the same command,
installed)."""
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from colt_det.cli.compare import main  # noqa: E402

if __name__ == '__main__':
    os.environ.setdefault('PYTHONHASHSEED', '0')
    sys.exit(main())
