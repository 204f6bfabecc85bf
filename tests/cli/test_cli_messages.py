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


def test_colt_det_bases_resolve_in_the_editable_install(tmp_path, capsys):
    """README: a user's config inherits ``colt_det::_base_/...``; in the editable install the
    set-up makes, MMEngine looked for it in site-packages and failed ("inherits a file that
    does not exist (.../site-packages/colt_det/.mim/model-index.yml)")."""
    from colt_det.cli import load_config
    user = tmp_path / 'mine.py'
    user.write_text("_base_ = ['colt_det::_base_/det_runtime.py']\nwork_dir = 'w'\n")
    cfg = load_config(str(user))
    assert cfg.default_hooks.checkpoint.type == 'CheckpointHook' and cfg.work_dir == 'w'
    whole = tmp_path / 'whole.py'
    whole.write_text("_base_ = ['colt_det::colt_smallconv_demo.py']\n")
    assert load_config(str(whole)).colt.method == 'colt'


def test_eval_series_evaluates_classifiers_too(tiny_cfg, tiny_run, tmp_path):
    """colt-eval-series read detection metrics only: a classification run was an error."""
    import csv
    import json
    import os.path as osp

    from conftest import load_tool
    out = tmp_path / 'out'
    assert load_tool('eval_series').main([tiny_cfg, tiny_run, '--out-dir', str(out)]) == 0
    rows = list(csv.DictReader(open(out / 'series.csv')))
    summary = json.load(open(osp.join(tiny_run, 'colt_summary.json')))
    assert float(rows[0]['accuracy_top1']) == summary['final']['metric']
    assert abs(float(rows[0]['sparsity']) - summary['final']['sparsity']) < 1e-6
    assert (out / 'map_vs_sparsity.png').read_bytes()[:4] == b'\x89PNG'
