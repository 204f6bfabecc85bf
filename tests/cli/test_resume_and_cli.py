"""MMEngine resume under torch's weights_only loading, and the command line's error handling."""
import copy
import os
import os.path as osp
import pickle
import subprocess
import sys

import pytest
import torch

from conftest import ROOT, cls_config


def _runner(cfg, name):
    from mmengine.runner import Runner
    cfg = copy.deepcopy(cfg)
    cfg.pop('colt')
    cfg.experiment_name = name
    return Runner.from_cfg(cfg)


def test_resume_restores_iteration_and_weights(cls_data, tmp_path):
    """MMEngine's resume under torch's weights_only loading, with the entry points' allow-list."""
    from colt_det.runtime.safe_load import allow_checkpoint_types
    allow_checkpoint_types()
    cfg = cls_config(cls_data, str(tmp_path))
    cfg.train_cfg = dict(by_epoch=True, max_epochs=2, val_interval=10)
    first = _runner(cfg, 'first')
    first.train()
    done_iter = first.iter
    weights = {k: v.detach().clone() for k, v in first.model.state_dict().items()}
    assert done_iter > 0 and osp.isfile(tmp_path / 'last_checkpoint')

    cfg.train_cfg = dict(by_epoch=True, max_epochs=3, val_interval=10)
    cfg.resume = True
    second = _runner(cfg, 'second')
    loaded = {}

    from mmengine.hooks import Hook

    class Peek(Hook):

        def before_train(self, runner):
            loaded['iter'], loaded['epoch'] = runner.iter, runner.epoch
            loaded['state'] = {k: v.detach().clone() for k, v in runner.model.state_dict().items()}

    second.register_hook(Peek())
    second.train()
    assert loaded['iter'] == done_iter and loaded['epoch'] == 2
    assert all(torch.equal(loaded['state'][k], weights[k]) for k in weights)
    assert second.iter > done_iter


class _Evil:

    def __reduce__(self):
        return (os.system, ('touch PWNED', ))


class _SneakyGetattr:

    def __reduce__(self):
        from mmengine.logging.history_buffer import HistoryBuffer
        return (getattr, (HistoryBuffer, '__init__'))


@pytest.mark.parametrize('payload,message', [(_Evil, 'system'),
                                             (_SneakyGetattr, 'not allow-listed')])
def test_weights_only_still_refuses_unknown_types(tmp_path, monkeypatch, payload, message):
    from colt_det.runtime.safe_load import allow_checkpoint_types
    allow_checkpoint_types()  # what every tool installs (not left to an earlier test)
    monkeypatch.chdir(tmp_path)
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'x': payload()}, path)
    with pytest.raises(pickle.UnpicklingError, match=message):
        torch.load(path, weights_only=True)
    assert not (tmp_path / 'PWNED').exists()


def run_train(*args, cwd=ROOT):
    return subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'train.py'), *args],
                          cwd=cwd, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize('option,message', [
    ('colt.num_partitions=11', 'num_partitions=11 > number of classes (10)'),
    ('colt.prune_ratio=1.5', 'prune_ratio must be in (0, 1)'),
    ('colt.target_sparsity=0', 'target_sparsity must be in (0, 1)'),
    ('colt.method=foo', "colt.method must be one of ['colt', 'imp', "),
])
def test_bad_settings_one_line_error_nothing_written(cls_data, tmp_path, capsys, option,
                                                    message):
    from colt_det.train import main
    work = tmp_path / 'w'
    code = main([osp.join(ROOT, 'configs', 'colt_smallconv_demo.py'), '--work-dir', str(work),
                 '--cfg-options', f'train_dataloader.dataset.root={cls_data}',
                 f'val_dataloader.dataset.root={cls_data}', option])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 1 and err[0].startswith('error: ') and message in err[0], err
    assert not work.exists()


def test_missing_config_and_data(tmp_path, capsys):
    from colt_det.train import main
    assert main([str(tmp_path / 'nope.py')]) == 1  # every one-line error exits 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and 'nope.py not found' in err[0]
    code = main([osp.join(ROOT, 'configs', 'colt_smallconv_demo.py'), '--work-dir',
                 str(tmp_path / 'w'), '--cfg-options',
                 f'train_dataloader.dataset.root={tmp_path}/empty', 'demo_data='])
    assert code == 1
    assert 'does not exist' in capsys.readouterr().err.splitlines()[-1]


def test_installed_entry_point_runs_from_any_cwd(cls_data, tmp_path):
    """``python -m colt_det.train`` (what --parallel-partitions starts) needs no checkout cwd."""
    config = osp.join(ROOT, 'configs', 'colt_smallconv_demo.py')
    res = subprocess.run([sys.executable, '-m', 'colt_det.train', config, '--work-dir',
                          str(tmp_path / 'w'), '--cfg-options', 'demo_data=',
                          f'train_dataloader.dataset.root={cls_data}',
                          f'val_dataloader.dataset.root={cls_data}', 'colt.prune_scope=foo'],
                         cwd=str(tmp_path), capture_output=True, text=True, timeout=300)
    assert res.returncode == 1, res.stderr[-2000:]
    assert res.stderr.strip().splitlines()[-1].startswith("error: colt.prune_scope must be one")
