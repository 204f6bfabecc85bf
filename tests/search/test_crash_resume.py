"""SIGKILL a running search at several points; `--resume` must end with the same final mask."""
import glob
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest
import torch

from colt_det.core import load_ticket

from conftest import ROOT, write_tiny_cls_cfg


@pytest.fixture(scope='module')
def tiny_cfg(cls_data, tmp_path_factory):
    return write_tiny_cls_cfg(tmp_path_factory.mktemp('cfg'), cls_data)


def _cmd(cfg, work, resume=False):
    return [sys.executable, osp.join(ROOT, 'tools', 'train.py'), cfg, '--work-dir', work] + (
        ['--resume'] if resume else [])


def _run_until(cfg, work, marker, resume=False):
    """Start a search and SIGKILL it as soon as ``marker`` (a glob relative to work) exists."""
    proc = subprocess.Popen(_cmd(cfg, work, resume), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if glob.glob(osp.join(work, marker)):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return True
        time.sleep(0.05)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    return False


def _final_mask(work):
    return load_ticket(osp.join(work, 'tickets', 'final.safetensors')).masks


@pytest.fixture(scope='module')
def reference(tiny_cfg, tmp_path_factory):
    work = str(tmp_path_factory.mktemp('ref'))
    res = subprocess.run(_cmd(tiny_cfg, work), capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    return work


@pytest.mark.parametrize('marker', [
    'rounds/round_01/part_0/mask.safetensors',  # between pruning and the next partition
    'rounds/round_01/part_1/epoch_*.pth',  # mid-stage, after an epoch checkpoint
    # the other write boundaries (round ticket, final stage, ...) are killed in-process at
    # every one of them in test_guarantees.py
])
def test_sigkill_then_resume_gives_identical_mask(tiny_cfg, reference, tmp_path, marker):
    work = str(tmp_path / 'w')
    assert _run_until(tiny_cfg, work, marker), f'search ended before {marker} appeared'
    assert not osp.exists(osp.join(work, 'tickets', 'final.safetensors'))
    # without --resume nothing is overwritten
    res = subprocess.run(_cmd(tiny_cfg, work), capture_output=True, text=True, timeout=600)
    assert res.returncode == 1 and '--resume' in res.stderr.splitlines()[-1]
    # a write the kill interrupted leaves a temp file: the resumed search removes it
    os.makedirs(osp.join(work, 'tickets'), exist_ok=True)
    open(osp.join(work, 'tickets', '.tmp.interrupted'), 'w').close()
    res = subprocess.run(_cmd(tiny_cfg, work, resume=True), capture_output=True, text=True,
                         timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    ref, got = _final_mask(reference), _final_mask(work)
    assert set(ref) == set(got)
    assert all(torch.equal(ref[k], got[k]) for k in ref)
    trained = load_ticket(osp.join(work, 'tickets', 'final.safetensors')).trained
    assert all(torch.all(trained[k][~m] == 0) for k, m in got.items())  # enforced after resume
    # the weights too, bit for bit: the resumed epoch draws the same flips as the uninterrupted
    # one only because EpochSeedHook reseeds every epoch (without it this fails: the new
    # process's generator is not where epoch 1 left it)
    ref_trained = load_ticket(osp.join(reference, 'tickets', 'final.safetensors')).trained
    assert all(torch.equal(ref_trained[k], trained[k]) for k in ref_trained)
    leftovers = [f for _, _, files in os.walk(work) for f in files if f.startswith('.tmp.')]
    assert leftovers == []
