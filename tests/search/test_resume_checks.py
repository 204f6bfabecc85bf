"""Reliability round 4: what a resume reads is checked as when it was made, and a finished
search leaves no stage checkpoint behind (each failed on the code before this round)."""
import os
import os.path as osp
import shutil

import pytest
import torch

from conftest import load_tool, one_line_error

train = load_tool('train').main


def test_a_theta0_with_nan_values_is_refused_on_resume(tiny_cfg, tiny_run, tmp_path, capsys):
    """The finite check ran only when theta0 was made; a resume trained from any file."""
    from colt_det.runtime.checkpoints import load_state, save_state
    work = str(tmp_path / 'w')
    shutil.copytree(tiny_run, work)
    path = osp.join(work, 'theta0.safetensors')
    state = load_state(path)
    name = next(n for n, t in state.items() if t.is_floating_point())
    state[name] = state[name].clone().fill_(float('nan'))
    os.remove(path)
    save_state(path, state)
    one_line_error(capsys, train([tiny_cfg, '--work-dir', work, '--resume']),
                   'theta0.safetensors holds NaN/inf values', name)


def test_gmp_with_rewind_leaves_no_stage_checkpoint(tiny_cfg, tmp_path):
    work = str(tmp_path / 'w')
    assert train([tiny_cfg, '--work-dir', work, '--cfg-options', 'colt.method=gmp',
                  'colt.num_partitions=1', 'colt.gmp.rewind=True', 'colt.gmp.every=2']) == 0
    left = [osp.join(d, f) for d, _, files in os.walk(work) for f in files
            if f.endswith('.pth') and f != 'final_masked.pth' or f == 'last_checkpoint']
    assert left == []
    assert osp.isfile(osp.join(work, 'tickets', 'gmp.safetensors'))
    assert torch.load(osp.join(work, 'final_masked.pth'), weights_only=False)['state_dict']


def test_a_folder_in_place_of_a_ticket_is_named_as_a_folder(tiny_cfg, tiny_run, tmp_path,
                                                            capsys):
    """It was reported as "does not exist" (search and colt-test)."""
    work = str(tmp_path / 'w')
    shutil.copytree(tiny_run, work)
    ticket = osp.join(work, 'tickets', 'final.safetensors')
    os.remove(ticket)
    os.makedirs(ticket)
    one_line_error(capsys, load_tool('test').main([tiny_cfg, ticket]), 'is a folder, not a file')


def test_a_change_of_the_final_training_before_it_started_resumes_with_allow_changed(
        tiny_cfg, tmp_path, capsys):
    """--resume refused any changed final_train_cfg, --allow-changed included, although no
    stage that reads it had run: every round's work was lost to a fix of the final schedule."""
    from conftest import checksums
    work = str(tmp_path / 'w')
    assert train([tiny_cfg, '--work-dir', work, '--cfg-options', 'colt.final_train=False']) == 0
    rounds = {k: v for k, v in checksums(work).items() if k.startswith('tickets/round_')}
    assert rounds
    fixed = ['--cfg-options', 'colt.final_train=True', 'colt.final_train_cfg.max_epochs=1']
    one_line_error(capsys, train([tiny_cfg, '--work-dir', work, '--resume', *fixed]),
                   'changed colt settings', '--allow-changed accepts a change of')
    assert train([tiny_cfg, '--work-dir', work, '--resume', '--allow-changed', *fixed]) == 0
    assert osp.isfile(osp.join(work, 'tickets', 'final.safetensors'))
    assert {k: v for k, v in checksums(work).items() if k.startswith('tickets/round_')} == rounds
    # once the final training has run, its settings are part of the result: refused
    one_line_error(capsys, train([tiny_cfg, '--work-dir', work, '--resume', '--allow-changed',
                                  '--cfg-options', 'colt.final_train_cfg.max_epochs=2']),
                   'changed colt settings')


def test_partition_jobs_send_each_round_to_the_backends_once(cls_data, tmp_path):
    """Every partition job tracked every round: N records per round (N W&B "search" runs)."""
    import glob
    import json
    import subprocess
    import sys

    from conftest import ROOT, cls_config, dumped
    work = str(tmp_path / 'w')
    cfg = cls_config(cls_data, work, max_rounds=2, target_sparsity=0.7, final_train=False,
                     progress_interval=0)
    cfg.visualizer = dict(type='Visualizer', vis_backends=[dict(type='LocalVisBackend')])
    config = dumped(cfg, tmp_path, work)
    res = subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'train.py'), config,
                          '--work-dir', work, '--parallel-partitions', '--wait-timeout', '600'],
                         capture_output=True, text=True, timeout=900, cwd=ROOT,
                         env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    steps = [json.loads(ln)['step'] for f in glob.glob(osp.join(
        work, 'tracking', '**', 'scalars.json'), recursive=True) for ln in open(f)
        if 'colt/sparsity' in ln]
    assert sorted(steps) == [1, 2]


# what a resume of a search killed after the last round's partition stages reads (its round
# ticket and the final ticket not written yet)
RESUME_READS = ['colt_settings.json', 'theta0.safetensors', 'tickets/round_01.safetensors',
                'rounds/round_02/part_0/mask.safetensors', 'rounds/round_01/part_0/result.json']


def _spoil(path: str, how: str) -> None:
    os.remove(path)
    if how == 'folder':
        os.makedirs(path)
    elif how == 'empty':
        open(path, 'w').close()
    elif path.endswith('.json'):
        with open(path, 'w') as f:
            f.write('{"a": NaN')  # cut short
    else:  # a ticket or state of the right layout with NaN values
        from safetensors.torch import save_file
        save_file({'x': torch.full((2,), float('nan'))}, path)


@pytest.mark.parametrize('how', ['folder', 'empty', 'nan'])
@pytest.mark.parametrize('name', RESUME_READS)
def test_every_file_a_resume_reads_spoiled_is_one_line_and_changes_nothing(
        tiny_cfg, tiny_run, tmp_path, capsys, name, how):
    """Each file a resume reads, replaced by a folder, an empty file or a file of the wrong
    content (NaN values, cut-short JSON): one line naming the file, exit 1, and no file of the
    work dir changed (``colt_summary.json`` and its plot included)."""
    from conftest import checksums
    work = str(tmp_path / 'w')
    shutil.copytree(tiny_run, work)
    for left in ('final.safetensors', 'round_02.safetensors'):  # the resume has work to do
        os.remove(osp.join(work, 'tickets', left))
    path = osp.join(work, name)
    _spoil(path, how)
    before = checksums(work)
    one_line_error(capsys, train([tiny_cfg, '--work-dir', work, '--resume']),
                   osp.basename(name))
    after = checksums(work)
    assert after == before, sorted(k for k in set(before) | set(after)
                                   if before.get(k) != after.get(k))


def test_the_stage_record_is_told_when_building_its_runner_began(tmp_path, monkeypatch):
    """The stage's seconds count the Runner's building: the record hook gets the start time
    in its config, before the Runner (and the hook) are built; no hook is edited afterwards.
    Fails if build_stage_runner stops passing it."""
    import time

    from mmengine.config import Config

    from colt_det.search import stage
    built = {}
    monkeypatch.setattr(stage, 'build_quiet_runner', lambda cfg: built.setdefault('cfg', cfg))
    before = time.time()
    cfg = Config(dict(work_dir=str(tmp_path / 's'), experiment_name='s',
                      custom_hooks=[dict(type='colt_det.StageRecordHook'),
                                    dict(type='colt_det.EpochSeedHook', seed=0)]))
    stage.build_stage_runner(cfg)
    record, seed = built['cfg'].custom_hooks
    assert before <= record['started_at'] <= time.time() and 'started_at' not in seed
