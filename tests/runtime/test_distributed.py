"""Scale-out: 2-process gloo DDP and parallel partition jobs give the masks of one process."""
import os
import os.path as osp
import socket
import subprocess
import sys
import threading

import pytest
import torch

from conftest import ROOT, cls_config, det_config

TRAIN = osp.join(ROOT, 'tools', 'train.py')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _run(cmd, extra_env=None, **kw):
    # one thread per process everywhere: float results must not depend on thread count
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONHASHSEED='0', **(extra_env or {}))
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900, env=env,
                          **kw)


@pytest.fixture(scope='module')
def search_config(cls_data, tmp_path_factory) -> str:
    """A 2-round COLT search without BatchNorm or augmentation, as a config file."""
    tmp = tmp_path_factory.mktemp('dist')
    cfg = cls_config(cls_data, str(tmp / 'unused'), prune_ratio=0.5, target_sparsity=0.7)
    cfg.model.backbone.norm = False
    cfg.train_dataloader.dataset.train_aug = False
    cfg.train_cfg = dict(by_epoch=True, max_epochs=2, val_interval=2)
    path = str(tmp / 'colt_tiny.py')
    cfg.dump(path)
    return path


@pytest.fixture(scope='module')
def single_run(search_config, tmp_path_factory) -> str:
    work = str(tmp_path_factory.mktemp('single') / 'w')
    res = _run([sys.executable, TRAIN, search_config, '--work-dir', work])
    assert res.returncode == 0, res.stderr[-3000:]
    return work


def _masks(work: str, name: str):
    from colt_det.core import load_mask
    return load_mask(osp.join(work, 'tickets', name))


def _assert_same_rounds(a: str, b: str, rounds=(1, 2)) -> None:
    for r in rounds:
        ma, mb = _masks(a, f'round_{r:02d}.safetensors'), _masks(b, f'round_{r:02d}.safetensors')
        assert set(ma) == set(mb)
        diff = {n: int((ma[n] != mb[n]).sum()) for n in ma if not torch.equal(ma[n], mb[n])}
        assert not diff, f'round {r} masks differ: {diff}'


# every atomic write starts with tempfile.mkstemp in the file's folder: a sitecustomize in the
# launched processes records which rank made each one
TRACE_WRITES = """
import os, tempfile
_mkstemp = tempfile.mkstemp
def _traced(*args, **kwargs):
    with open(os.environ['COLT_TEST_WRITE_TRACE'], 'a') as f:
        f.write(os.environ.get('RANK', '-') + ' ' + str(kwargs.get('dir')) + '\\n')
    return _mkstemp(*args, **kwargs)
tempfile.mkstemp = _traced
"""


def test_ddp_two_process_gloo_same_masks(search_config, single_run, tmp_path):
    """torchrun + --launcher pytorch, 2 ranks x 16 images == 1 process x 32 images; only rank
    0 writes a file of the search (every atomic write of both ranks is traced: fails if a
    rank-0 guard of a writer is dropped)."""
    work = str(tmp_path / 'ddp')
    (tmp_path / 'site').mkdir()
    (tmp_path / 'site' / 'sitecustomize.py').write_text(TRACE_WRITES)
    trace = tmp_path / 'writes.txt'
    res = _run([sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2',
                '--master_addr', '127.0.0.1', '--master_port', str(_free_port()), TRAIN,
                search_config, '--work-dir', work, '--launcher', 'pytorch', '--cfg-options',
                'train_dataloader.batch_size=16'],
               extra_env=dict(PYTHONPATH=str(tmp_path / 'site'), COLT_TEST_WRITE_TRACE=str(trace)))
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    writes = [ln.split(' ', 1) for ln in trace.read_text().splitlines()]
    assert len(writes) > 10 and {rank for rank, _ in writes} == {'0'}, \
        [w for w in writes if w[0] != '0'][:5]
    assert res.stdout.count('[colt] final: sparsity') == 1  # progress printed by rank 0 only
    # the data really was split over 2 ranks: 2 x 16 images per step, as many steps as 1 x 32
    # (two independent processes with batch 16 would take 5 steps per epoch, not 3)
    import json
    for w in (work, single_run):
        with open(osp.join(w, 'rounds', 'round_01', 'part_0', 'result.json')) as f:
            assert json.load(f)['iters'] == 2 * 3
    _assert_same_rounds(single_run, work)
    final = _masks(work, 'final.safetensors')
    assert not any(k.startswith('module.') for k in final)
    assert osp.exists(osp.join(work, 'final_masked.pth'))
    from colt_det.report import load_summary
    s_ddp, s_one = load_summary(work), load_summary(single_run)
    assert [r['sparsity'] for r in s_ddp['rounds']] == [r['sparsity'] for r in s_one['rounds']]
    assert s_ddp['final']['metric'] is not None


def test_ddp_detection_search(voc_data, tmp_path):
    """The product path: a COLT round + final training of the slim Faster R-CNN, 2 gloo ranks."""
    import json
    import math
    cfg = det_config(voc_data, str(tmp_path / 'unused'), max_rounds=1, target_sparsity=0.4)
    cfg.train_dataloader.batch_size = 4
    cfg.colt.progress_interval = 0
    path = str(tmp_path / 'det.py')
    cfg.dump(path)
    work = str(tmp_path / 'ddp_det')
    res = _run([sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2',
                '--master_addr', '127.0.0.1', '--master_port', str(_free_port()), TRAIN, path,
                '--work-dir', work, '--launcher', 'pytorch'])
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    for i in (0, 1):
        with open(osp.join(work, 'rounds', 'round_01', f'part_{i}', 'result.json')) as f:
            result = json.load(f)
        # DefaultSampler gives each rank half the partition's images, in batches of 4
        images = result['partition_stats']['images']
        assert result['iters'] == math.ceil(math.ceil(images / 2) / 4)
        assert isinstance(result['metrics']['pascal_voc/mAP'], float)  # validated on 2 ranks
    final = _masks(work, 'final.safetensors')
    assert final and all(k.startswith('backbone.') for k in final)
    from colt_det.report import load_summary
    summary = load_summary(work)
    assert summary['rounds'][0]['sparsity'] == pytest.approx(0.45, abs=0.05)
    assert summary['final']['metric'] is not None
    assert osp.exists(osp.join(work, 'final_masked.pth'))


def test_parallel_partitions_same_masks(search_config, single_run, tmp_path):
    """--parallel-partitions: N local partition processes, then the final here."""
    work = str(tmp_path / 'par')
    res = _run([sys.executable, TRAIN, search_config, '--work-dir', work,
                '--parallel-partitions', '--wait-timeout', '600'])
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    assert '[p0] [colt] round 1 partition 1/2' in res.stdout
    assert '[p1] [colt] round 1 partition 2/2' in res.stdout
    for i in (0, 1):
        assert osp.exists(osp.join(work, 'logs', f'partition_{i}.log'))
    _assert_same_rounds(single_run, work)
    assert osp.exists(osp.join(work, 'tickets', 'final.safetensors'))


def test_parallel_partitions_failure_stops_all(cls_data, tmp_path):
    """A partition process that fails stops the others; one line names it and its log."""
    cfg = cls_config(cls_data, str(tmp_path / 'unused'))
    cfg.optim_wrapper.optimizer.lr = 1e8  # the loss becomes NaN within a few steps
    path = str(tmp_path / 'diverges.py')
    cfg.dump(path)
    work = tmp_path / 'w'
    res = _run([sys.executable, TRAIN, path, '--work-dir', str(work), '--parallel-partitions'])
    assert res.returncode == 1, res.stdout[-2000:]
    err = res.stderr.strip().splitlines()[-1]
    assert err.startswith('error: partition ') and 'failed (exit 1)' in err, res.stderr[-2000:]
    assert 'loss is' in err and 'partition_' in err
    assert 'Traceback' not in res.stderr
    assert not (work / 'tickets' / 'round_01.safetensors').exists()


def test_partition_jobs_started_separately(search_config, single_run, tmp_path):
    """Two --partition jobs started by hand (as on a cluster), then --resume for the final."""
    work = str(tmp_path / 'jobs')
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONHASHSEED='0')
    # partition 1 first: it waits for partition 0 to start the search
    jobs = [subprocess.Popen([sys.executable, TRAIN, search_config, '--work-dir', work,
                              '--partition', str(i), '--wait-timeout', '600'], cwd=ROOT,
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for i in (1, 0)]
    outs = [j.communicate(timeout=900) for j in jobs]
    for j, (out, err) in zip(jobs, outs):
        assert j.returncode == 0, out[-2000:] + err[-3000:]
        assert 'finished its rounds' in out
    assert not osp.exists(osp.join(work, 'tickets', 'final.safetensors'))
    _assert_same_rounds(single_run, work)
    res = _run([sys.executable, TRAIN, search_config, '--work-dir', work, '--resume'])
    assert res.returncode == 0, res.stderr[-3000:]
    assert 'round 1 partition' not in res.stdout  # nothing retrained
    assert osp.exists(osp.join(work, 'tickets', 'final.safetensors'))


def _closing_search(search_config: str, work: str):
    from mmengine.config import Config

    from colt_det.search import ColtSearch
    cfg = Config.fromfile(search_config)
    cfg.work_dir = work
    return ColtSearch(cfg, partition=0).check()  # the context a partition job closes with


def test_two_jobs_closing_the_same_round(search_config, single_run, tmp_path):
    import shutil

    from colt_det.core import save_mask
    from colt_det.search import SearchError
    from colt_det.search.coordination import close_round
    work = str(tmp_path / 'copy')
    shutil.copytree(single_run, work)
    ticket = osp.join(work, 'tickets', 'round_01.safetensors')
    before = open(ticket, 'rb').read()
    os.remove(ticket)
    searches = [_closing_search(search_config, work) for _ in range(2)]
    errors = []

    def close(s):
        try:
            close_round(s, 1, 0.0)
        except Exception as e:  # noqa: BLE001  (collected and asserted below)
            errors.append(e)

    threads = [threading.Thread(target=close, args=(s,)) for s in searches]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    from colt_det.core import load_mask
    assert all(torch.equal(a, b) for a, b in zip(
        load_mask(ticket).values(), _masks(single_run, 'round_01.safetensors').values()))
    # the loser of the race (ticket already there) checks it and leaves it untouched
    now = open(ticket, 'rb').read()
    close_round(searches[0], 1, 0.0)
    assert open(ticket, 'rb').read() == now
    assert len(now) == len(before)
    # a ticket that does not match this job's partition masks is an error, not overwritten
    part0 = osp.join(work, 'rounds', 'round_01', 'part_0', 'mask.safetensors')
    mask = load_mask(part0)
    os.remove(part0)
    save_mask(part0, {n: torch.zeros_like(m) for n, m in mask.items()})
    with pytest.raises(SearchError, match='differs from the intersection'):
        close_round(searches[1], 1, 0.0)
    assert open(ticket, 'rb').read() == now


def test_partition_job_errors(search_config, tmp_path, capsys):
    from mmengine.config import Config

    from colt_det.cli import guarded
    from colt_det.cli.train import run_config as run
    cfg = Config.fromfile(search_config)
    cfg.work_dir = str(tmp_path / 'w')

    def run_config(cfg, **kw):
        return guarded(lambda: run(cfg, **kw))
    assert run_config(cfg.copy(), partition=2) == 1
    assert 'error: --partition 2: this search has 2 partition(s), numbered 0..1' in \
        capsys.readouterr().err
    # partition 1 alone waits for partition 0 to start the search, and says so
    assert run_config(cfg.copy(), partition=1, wait_timeout=1) == 1
    err = capsys.readouterr().err
    assert 'error: waited' in err and 'the search to start' in err
    assert not osp.exists(osp.join(cfg.work_dir, 'theta0.safetensors'))
    cfg.colt.method = 'random'
    cfg.colt.random_from = 'x.safetensors'
    assert run_config(cfg.copy(), partition=0) == 1
    assert "--partition runs one partition of a 'colt' or 'imp' search" in \
        capsys.readouterr().err


def test_slurm_environment(monkeypatch):
    """--launcher slurm: srun's variables become torch.distributed's, as in MMEngine."""
    from colt_det.runtime import dist as distributed
    for k in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_PORT'):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv('MASTER_ADDR', 'node17')
    monkeypatch.setenv('SLURM_PROCID', '3')
    monkeypatch.setenv('SLURM_NTASKS', '4')
    monkeypatch.setenv('SLURM_LOCALID', '1')
    monkeypatch.setenv('SLURM_NODELIST', 'node[17-18]')
    distributed._slurm_env()
    assert (os.environ['RANK'], os.environ['WORLD_SIZE'], os.environ['LOCAL_RANK'],
            os.environ['MASTER_ADDR'], os.environ['MASTER_PORT']) == \
        ('3', '4', '1', 'node17', '29500')
    monkeypatch.delenv('SLURM_PROCID')
    with pytest.raises(ValueError, match='outside a Slurm job step'):
        distributed._slurm_env()


def test_cpu_ddp_wrapper_config(monkeypatch):
    from mmengine.config import Config

    from colt_det.runtime.dist import configure_launcher
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)  # also on a GPU machine
    cfg = Config(dict(model=dict()))
    configure_launcher(cfg, 'pytorch')
    assert cfg.launcher == 'pytorch'
    assert cfg.model_wrapper_cfg.device_ids is None
    single = Config(dict(model=dict()))
    configure_launcher(single, 'none')
    assert single.launcher == 'none' and 'model_wrapper_cfg' not in single
