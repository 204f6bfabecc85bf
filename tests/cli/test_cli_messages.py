"""What the commands print: no false warning (reliability round 4)."""
import subprocess
import sys

from conftest import ROOT


def test_a_run_prints_no_colt_det_is_not_installed_warning(tiny_cfg, tmp_path):
    """MMEngine warned on every run that colt_det "is not installed" (it looked for
    colt_det.utils.register_all_modules, MMEngine's convention, for nodes without locations)."""
    res = subprocess.run([sys.executable, f'{ROOT}/tools/train.py', tiny_cfg, '--work-dir',
                          str(tmp_path / 'w'), '--cfg-options', 'colt.max_rounds=1',
                          'colt.final_train=False'], capture_output=True, text=True,
                         timeout=600, cwd=str(tmp_path))
    assert res.returncode == 0, res.stderr[-2000:]
    assert 'is not installed' not in res.stdout + res.stderr
    assert 'Failed to import' not in res.stdout + res.stderr
