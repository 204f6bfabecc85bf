"""The installed product: after ``pip install .`` every command works outside the checkout, and
colt_det's configs ship with the package (``colt_det::`` names them)."""
import json
import os
import os.path as osp
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT

COMMANDS = ('colt-train', 'colt-test', 'colt-export', 'colt-compare', 'colt-eval-series')


@pytest.fixture(scope='module')
def installed(tmp_path_factory):
    """colt_det pip-installed (no dependencies: the environment has them) into a folder."""
    src, site = tmp_path_factory.mktemp('src'), tmp_path_factory.mktemp('site')
    for name in ('colt_det', 'configs'):
        shutil.copytree(osp.join(ROOT, name), src / name,
                        ignore=shutil.ignore_patterns('__pycache__', '.mim'))
    for name in ('setup.py', 'README.md'):
        shutil.copy(osp.join(ROOT, name), src / name)
    res = subprocess.run([sys.executable, '-m', 'pip', 'install', '--quiet', '--no-deps',
                          '--no-build-isolation', '--no-index', '--target', str(site),
                          str(src)], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    return site


def _run(site, args, cwd, timeout=600):
    env = dict(os.environ, PYTHONPATH=str(site))
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_every_command_is_installed_with_the_configs(installed, tmp_path):
    for cmd in COMMANDS:
        res = _run(installed, [osp.join(installed, 'bin', cmd), '--help'], tmp_path)
        assert res.returncode == 0 and 'usage:' in res.stdout, (cmd, res.stderr[-2000:])
    shipped = osp.join(installed, 'colt_det', '.mim', 'configs')
    def listing(d):
        return sorted(f for f in os.listdir(d) if f != '__pycache__')
    assert listing(shipped) == listing(osp.join(ROOT, 'configs'))
    assert listing(osp.join(shipped, '_base_')) == listing(osp.join(ROOT, 'configs', '_base_'))
    # the installed package is the one imported, not the checkout
    res = _run(installed, [sys.executable, '-c', 'import colt_det; print(colt_det.__file__)'],
               tmp_path)
    assert res.stdout.strip().startswith(str(installed))


def test_installed_commands_train_test_export_compare_outside_the_checkout(installed, cls_data,
                                                                          tmp_path):
    # a user's own config inheriting colt_det's _base_ through the colt_det:: prefix
    user_cfg = tmp_path / 'mine.py'
    user_cfg.write_text(
        "_base_ = ['colt_det::_base_/cls_runtime.py']\n"
        "x_from_user = 1\n")
    res = _run(installed, [sys.executable, '-c',
                           'from colt_det.cli import load_config; '
                           f'c = load_config("{user_cfg}"); '
                           'print(c.default_scope, c.x_from_user)'], tmp_path)
    assert res.returncode == 0 and res.stdout.split() == ['colt_det', '1'], res.stderr[-2000:]
    bin_ = osp.join(installed, 'bin')
    tiny = ['--cfg-options', 'demo_data=', f'train_dataloader.dataset.root={cls_data}',
            f'val_dataloader.dataset.root={cls_data}', f'test_dataloader.dataset.root={cls_data}',
            'train_dataloader.dataset.img_size=16', 'val_dataloader.dataset.img_size=16',
            'test_dataloader.dataset.img_size=16', 'model.backbone.widths=[8,16,16,16]',
            'train_cfg.max_epochs=1', 'train_cfg.val_interval=1', 'colt.prune_ratio=0.5',
            'colt.target_sparsity=0.4', 'colt.progress_interval=0']
    res = _run(installed, [osp.join(bin_, 'colt-train'), 'colt_det::colt_smallconv_demo.py',
                           '--work-dir', 'w', *tiny], tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    ticket = tmp_path / 'w' / 'tickets' / 'final.safetensors'
    assert ticket.exists()
    res = _run(installed, [osp.join(bin_, 'colt-test'), 'colt_det::colt_smallconv_demo.py',
                           str(ticket), '--out', 'm.json', '--cfg-options', *tiny[1:]],
               tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    assert 'accuracy/top1' in json.load(open(tmp_path / 'm.json'))
    res = _run(installed, [osp.join(bin_, 'colt-export'), str(ticket), 'out.pth'], tmp_path)
    assert res.returncode == 0 and (tmp_path / 'out.pth').exists(), res.stderr[-2000:]
    res = _run(installed, [osp.join(bin_, 'colt-compare'), 'w', '--md', 't.md'], tmp_path)
    assert res.returncode == 0 and (tmp_path / 't.md').read_text().startswith('| run')
    # outputs are never overwritten: the same export again is one line and exit 1
    res = _run(installed, [osp.join(bin_, 'colt-export'), str(ticket), 'out.pth'], tmp_path)
    assert res.returncode == 1 and res.stderr.strip().startswith('error:') \
        and len(res.stderr.strip().splitlines()) == 1
