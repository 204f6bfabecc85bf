"""Shared fixtures: tiny generated datasets and a small classification config."""
import os
import os.path as osp
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault('OMP_NUM_THREADS', '2')

VOC_SAMPLE = osp.join(ROOT, '..', 'shared', 'data', 'voc_sample', 'VOCdevkit')


def child_processes() -> dict:
    """This process's children, zombies (exited, not reaped) too: ``{pid: command line}``."""
    me, out = os.getpid(), {}
    for pid in filter(str.isdigit, os.listdir('/proc')):
        try:
            with open(f'/proc/{pid}/stat') as f:
                state, ppid = f.read().rsplit(')', 1)[1].split()[:2]
            with open(f'/proc/{pid}/cmdline', 'rb') as f:
                cmd = f.read().replace(b'\0', b' ').decode(errors='replace').strip()
        except OSError:
            continue
        if int(ppid) == me:
            out[int(pid)] = '(zombie)' if state == 'Z' else cmd[:120]
    return out


# Which test started each child process that outlives it: named at the end of the run, so a
# process leaked by one test is found where it starts, not where a later test counts it.
_STARTED_BY: dict = {}


def pytest_runtest_logfinish(nodeid, location):
    alive = child_processes()
    for pid in set(_STARTED_BY) - set(alive):  # exited: its pid may be reused
        del _STARTED_BY[pid]
    for pid, cmd in alive.items():
        _STARTED_BY.setdefault(pid, (nodeid, cmd))


def pytest_terminal_summary(terminalreporter):
    alive = child_processes()
    leaked = {pid: started for pid, started in _STARTED_BY.items() if pid in alive}
    if leaked:
        terminalreporter.section('child processes still alive at the end of the run')
        for pid, (nodeid, cmd) in sorted(leaked.items()):
            terminalreporter.line(f'{pid} started by {nodeid}: {cmd}')


@pytest.fixture(scope='session')
def cls_data(tmp_path_factory) -> str:
    from colt_det.synthetic.demo import make_imagefolder
    root = str(tmp_path_factory.mktemp('cls'))
    make_imagefolder(root, per_class=(16, 4, 6), img_size=16, seed=0)
    return root


@pytest.fixture(scope='session')
def voc_data(tmp_path_factory) -> str:
    from colt_det.synthetic.demo import make_voc
    root = str(tmp_path_factory.mktemp('voc'))
    return make_voc(root, num_train=48, num_test=16, img_size=96, seed=0)


def cls_config(data_root: str, work_dir: str, **colt):
    """A tiny COLT classification config on ``data_root`` (seconds per stage)."""
    from mmengine.config import Config

    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'colt_smallconv_demo.py'))
    cfg.pop('demo_data', None)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].dataset.root = data_root
        cfg[key].dataset.img_size = 16
    cfg.train_dataloader.batch_size = 32
    cfg.model.backbone.widths = (8, 16, 16, 16)
    cfg.train_cfg = dict(by_epoch=True, max_epochs=2, val_interval=2)
    cfg.param_scheduler = []
    cfg.default_hooks.logger.interval = 1000
    cfg.work_dir = work_dir
    cfg.colt.update(dict(prune_ratio=0.5, target_sparsity=0.7, max_rounds=5))
    cfg.colt.update(colt)
    return cfg


def det_config(voc_root: str, work_dir: str, **colt):
    """The demo COLT detection config on ``voc_root``: 1 epoch per stage, up to 2 rounds."""
    from mmengine.config import Config

    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'colt_faster_rcnn_demo.py'))
    cfg.pop('demo_data', None)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].dataset.data_root = voc_root
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=1, val_interval=1)
    cfg.default_hooks.logger.interval = 1000
    cfg.work_dir = work_dir
    cfg.colt.update(dict(target_sparsity=0.6, max_rounds=2, final_train_cfg=None))
    cfg.colt.update(colt)
    return cfg


# A tiny classification search as a config *file* (for the command-line tools): 2 epochs per
# stage, p=0.5 to 70% sparsity, no progress lines.
TINY_CLS_CFG = """
_base_ = ['{root}/configs/colt_smallconv_demo.py']
demo_data = None
train_dataloader = dict(batch_size=32, dataset=dict(root='{data}', img_size=16))
val_dataloader = dict(dataset=dict(root='{data}', img_size=16))
test_dataloader = dict(dataset=dict(root='{data}', img_size=16))
model = dict(backbone=dict(widths=(8, 16, 16, 16)))
param_scheduler = []
train_cfg = dict(by_epoch=True, max_epochs=2, val_interval=2)
default_hooks = dict(logger=dict(interval=1000))
colt = dict(prune_ratio=0.5, target_sparsity=0.7, max_rounds=4, progress_interval=0)
"""


def write_tiny_cls_cfg(folder, data_root: str, extra: str = '') -> str:
    """Write the tiny config on ``data_root`` (plus ``extra`` lines) into ``folder``."""
    path = osp.join(str(folder), 'tiny.py')
    with open(path, 'w') as f:
        f.write(TINY_CLS_CFG.format(root=ROOT, data=data_root) + extra)
    return path


def load_tool(name: str):
    """``tools/<name>.py`` as a module, so tests call its ``main(argv)`` in-process."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(f'colt_tool_{name}',
                                                  osp.join(ROOT, 'tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def checksums(root) -> dict:
    """sha256 of every file under ``root`` (to assert that nothing changed)."""
    import hashlib
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            with open(osp.join(d, f), 'rb') as fh:
                out[osp.relpath(osp.join(d, f), root)] = hashlib.sha256(fh.read()).hexdigest()
    return out


def one_line_error(capsys, code, *expected) -> str:
    """The run failed with exit 1 and exactly one stderr line naming the problem."""
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert code == 1, err
    assert len(err) == 1 and err[0].startswith('error: '), err
    for text in expected:
        assert text in err[0], err[0]
    return err[0]


@pytest.fixture(scope='session')
def tiny_cfg(cls_data, tmp_path_factory):
    """The tiny classification search as a config file (see TINY_CLS_CFG)."""
    return write_tiny_cls_cfg(tmp_path_factory.mktemp('cfg'), cls_data)


@pytest.fixture(scope='session')
def tiny_run(tiny_cfg, tmp_path_factory):
    """The tiny search, run once through tools/train.py: the reference of the crash tests."""
    work = str(tmp_path_factory.mktemp('tiny_run'))
    assert load_tool('train').main([tiny_cfg, '--work-dir', work]) == 0
    return work


def crash(cfg, work, point, monkeypatch, *extra) -> None:
    """Run tools/train.py until the crash point ``point`` (as a kill there would stop it)."""
    from colt_det.runtime.faults import SimulatedCrash
    monkeypatch.setenv('COLT_DET_CRASH_AT', point)
    with pytest.raises(SimulatedCrash):
        load_tool('train').main([cfg, '--work-dir', work, *extra])
    monkeypatch.delenv('COLT_DET_CRASH_AT')


def killed_and_resumed(config_of, tmp_path, monkeypatch, point: str = 'stage_epoch'):
    """(reference work dir, killed-and-resumed work dir): ``config_of(work)`` returns a config
    file for a work dir; one run goes through, the other is killed at ``point`` (as SIGKILL
    would stop it) and then resumed with ``--resume``."""
    ref = str(tmp_path / 'ref')
    assert load_tool('train').main([config_of(ref), '--work-dir', ref]) == 0
    work = str(tmp_path / 'killed')
    crash(config_of(work), work, point, monkeypatch)
    assert load_tool('train').main([config_of(work), '--work-dir', work, '--resume']) == 0
    return ref, work


def dumped(cfg, folder, work) -> str:
    """``cfg`` written as ``<folder>/<basename of work>.py`` (a config file for the tools)."""
    path = osp.join(str(folder), osp.basename(work) + '.py')
    cfg.dump(path)
    return path


# modules whose tests train a model end to end (searches, final trainings, exports, subprocess
# runs): `pytest -m "not e2e"` runs the fast rest alone; CI (make test) runs everything
E2E = {'test_reliability', 'test_guarantees', 'test_resume_checks', 'test_distributed',
       'test_crash_resume', 'test_channels', 'test_resume_and_cli', 'test_high_sparsity',
       'test_det', 'test_cli_messages', 'test_install', 'test_int8', 'test_cls_search',
       'test_stage_release', 'test_extensions', 'test_min_keep', 'test_progressive',
       'test_distill', 'test_gpu'}


def pytest_configure(config):
    config.addinivalue_line('markers', 'e2e: trains a model end to end (deselect with '
                                       '-m "not e2e" for the fast part)')


def pytest_collection_modifyitems(items):
    for item in items:
        if item.module.__name__.rpartition('.')[2] in E2E:
            item.add_marker(pytest.mark.e2e)
