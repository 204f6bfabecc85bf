"""Reliability, round 3: every documented promise held for whole classes of input (issue #28's
red-team cases, each failing on the code before this round)."""
import errno
import json
import os
import os.path as osp

import pytest
import torch

from colt_det.core import load_ticket, save_ticket

from conftest import ROOT, checksums, cls_config, crash, det_config, load_tool
from conftest import one_line_error as one_line

train, evaluate_tool, export_tool, series_tool = (load_tool(n).main for n in (
    'train', 'test', 'export_ticket', 'eval_series'))



@pytest.fixture
def finished(tiny_run):
    return tiny_run



# ---------------------------------------------------------------- 1. another model's checkpoint
def test_testing_a_checkpoint_of_another_model_is_an_error_naming_both(tiny_cfg, voc_data,
                                                                       tmp_path, capsys):
    from colt_det.tasks.base import get_task
    det = det_config(voc_data, str(tmp_path / 'w'))
    ckpt = str(tmp_path / 'det.pth')
    torch.save(dict(state_dict=get_task('det').build_model(det).state_dict(), meta={}), ckpt)
    line = one_line(capsys, evaluate_tool([tiny_cfg, ckpt]), 'does not fit the model of',
                    tiny_cfg, 'det.pth', 'missing', 'unexpected')
    assert 'accuracy' not in line


# ---------------------------------------------------------------- 2. non-finite values
def test_pruned_weights_are_exactly_zero_also_where_they_were_nan_or_inf():
    from colt_det.core import MaskEnforcer, apply_mask
    model = torch.nn.Linear(4, 3, bias=False)
    mask = {'weight': torch.tensor([[1, 0, 1, 0]] * 3, dtype=torch.bool)}
    with torch.no_grad():
        model.weight[:, 1] = float('nan')
        model.weight[:, 3] = float('inf')
    apply_mask(model, mask)
    assert torch.equal(model.weight[~mask['weight']], torch.zeros(6))
    with torch.no_grad():
        model.weight[:, 1] = float('-inf')
    MaskEnforcer(model, mask).step()
    assert torch.equal(model.weight[~mask['weight']], torch.zeros(6))


def test_a_ticket_with_non_finite_values_is_refused_at_start_naming_it(finished, tiny_cfg,
                                                                       tmp_path, capsys):
    ticket = load_ticket(osp.join(finished, 'tickets', 'final.safetensors'))
    name = next(iter(ticket.masks))
    kept = ticket.masks[name].flatten().nonzero()[0]
    ticket.trained[name].view(-1)[kept] = float('nan')  # a kept weight
    bad = str(tmp_path / 'nan.safetensors')
    save_ticket(bad, ticket.masks, ticket.theta0, trained=ticket.trained, dense=ticket.dense,
                meta=ticket.meta)
    work = tmp_path / 'w'
    one_line(capsys, train([tiny_cfg, '--work-dir', str(work), '--cfg-options',
                            'colt.method=ticket', 'colt.num_partitions=1',
                            f'colt.init_ticket.path={bad}', 'colt.init_ticket.mode=trained']),
             'nan.safetensors', 'NaN/inf', name)
    assert not work.exists()


# ---------------------------------------------------------------- 3. files of the user
def test_stage_clean_up_removes_only_the_checkpoints_mmengine_wrote(tmp_path):
    from colt_det.search.workdir import remove_checkpoints
    for f in ('epoch_1.pth', 'iter_20.pth', 'last_checkpoint', 'precious.pth', 'notes.txt'):
        (tmp_path / f).write_text('x')
    remove_checkpoints(str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == ['notes.txt', 'precious.pth']


def test_symlinked_work_dir_folders_are_refused_and_nothing_behind_them_is_touched(
        tiny_cfg, finished, tmp_path, capsys):
    import shutil
    work = tmp_path / 'w'
    shutil.copytree(finished, work)
    elsewhere = tmp_path / 'elsewhere'
    shutil.move(str(work / 'rounds'), str(elsewhere))
    (elsewhere / 'round_01' / 'part_0' / 'precious.pth').write_text('mine')
    os.symlink(elsewhere, work / 'rounds')
    before = checksums(elsewhere)
    one_line(capsys, train([tiny_cfg, '--work-dir', str(work), '--resume']),
             'rounds is a symbolic link')
    assert checksums(elsewhere) == before


# ---------------------------------------------------------------- 4. concurrent runs
def test_a_second_run_in_a_running_search_is_refused(tiny_cfg, finished, tmp_path, capsys):
    import shutil

    from colt_det.search.workdir import WorkDir
    work = str(tmp_path / 'w')
    shutil.copytree(finished, work)
    temp = osp.join(work, 'tickets', '.tmp.another_writer')
    open(temp, 'w').close()
    with WorkDir(work).lock():  # "another process" runs the search
        one_line(capsys, train([tiny_cfg, '--work-dir', work, '--resume']), 'is in use',
                 'another process is running this search')
        assert osp.exists(temp)  # its temp file was not deleted
    with WorkDir(work).lock(partition=1):  # a partition job holds its partition
        one_line(capsys, train([tiny_cfg, '--work-dir', work, '--partition', '1']),
                 'another job runs partition 1')
    assert train([tiny_cfg, '--work-dir', work, '--resume']) == 0
    assert not osp.exists(temp)  # a whole-search run, alone, cleans up


def test_a_partition_job_removes_only_its_own_temp_files(tmp_path):
    from colt_det.search.workdir import WorkDir
    work = WorkDir(str(tmp_path))
    planted = [work.path('tickets', '.tmp.a'), osp.join(work.stage(1, 0), '.tmp.b'),
               osp.join(work.stage(1, 1), '.tmp.c'), osp.join(work.stage(2, 1), '.tmp.d')]
    for p in planted:
        os.makedirs(osp.dirname(p), exist_ok=True)
        open(p, 'w').close()
    work.remove_temp_files(partition=1)
    assert [osp.exists(p) for p in planted] == [True, True, False, False]
    # and a partition job starting up does it (fails if open_work_dir stops calling it)
    from types import SimpleNamespace

    from colt_det.search.startup import open_work_dir
    for p in planted:
        open(p, 'w').close()
    open(work.theta0, 'w').close()  # partition 0 has started the search
    open_work_dir(SimpleNamespace(work=work, partition=1, resume=False, wait_interval=0.01,
                                  wait_timeout=5))
    assert [osp.exists(p) for p in planted] == [True, True, False, False]


# ---------------------------------------------------------------- 5. a changed schedule
def test_resume_with_a_changed_schedule_is_refused_naming_the_keys(tiny_cfg, tmp_path,
                                                                   monkeypatch, capsys):
    work = str(tmp_path / 'w')
    crash(tiny_cfg, work, 'stage_epoch', monkeypatch)
    before = checksums(work)
    line = one_line(capsys, train([tiny_cfg, '--work-dir', work, '--resume', '--cfg-options',
                                   'optim_wrapper.optimizer.lr=0.5', 'train_cfg.max_epochs=3']),
                    'changed config', 'optim_wrapper.optimizer.lr', 'train_cfg.max_epochs',
                    '--allow-changed')
    assert 'train_dataloader' not in line
    # dataloader workers shape the mask too (their random streams)
    one_line(capsys, train([tiny_cfg, '--work-dir', work, '--resume', '--cfg-options',
                            'train_dataloader.num_workers=1']),
             'train_dataloader.num_workers')
    assert checksums(work) == before
    assert train([tiny_cfg, '--work-dir', work, '--resume', '--allow-changed', '--cfg-options',
                  'train_cfg.max_epochs=3']) == 0
    record = json.load(open(osp.join(work, 'colt_settings.json')))
    assert record['_config']['train_cfg']['max_epochs'] == 3  # recorded anew


# ---------------------------------------------------------------- 6. tool outputs
def test_eval_series_never_overwrites_its_outputs(tiny_cfg, tmp_path, capsys):
    out = tmp_path / 'out'
    out.mkdir()
    (out / 'series.md').write_text('my edit')
    one_line(capsys, series_tool([tiny_cfg, 'nope', '--out-dir', str(out)]),
             'series.md exists', '--force')
    assert (out / 'series.md').read_text() == 'my edit'


def test_export_and_compare_refuse_existing_outputs(finished, tmp_path, capsys):
    out = tmp_path / 'out.pth'
    out.write_text('mine')
    one_line(capsys, export_tool([osp.join(finished, 'tickets', 'final.safetensors'),
                                  str(out)]), 'out.pth exists')
    assert out.read_text() == 'mine'
    plot = tmp_path / 'p.png'
    plot.write_text('mine')
    compare = load_tool('compare_runs').main
    one_line(capsys, compare([finished, '--plot', str(plot)]), 'p.png exists', '--force')
    assert plot.read_text() == 'mine'
    assert compare([finished, '--plot', str(plot), '--force']) == 0
    assert plot.read_bytes()[:4] == b'\x89PNG'


# ---------------------------------------------------------------- 7. a truncated VOC image
def test_a_truncated_voc_jpeg_is_named_not_trained_on(voc_data, tmp_path):
    import shutil

    from colt_det.search import ColtSearch
    root = tmp_path / 'voc'
    shutil.copytree(voc_data, root)
    jpg = sorted((root / 'VOC2007' / 'JPEGImages').iterdir())[0]
    jpg.write_bytes(jpg.read_bytes()[:len(jpg.read_bytes()) // 2])  # cv2 decodes half of it
    with pytest.raises(ValueError, match=rf'image {jpg} is truncated \(no JPEG end marker\)'):
        ColtSearch(det_config(str(root), str(tmp_path / 'w'), method='dense',
                              num_partitions=1)).run()


# ---------------------------------------------------------------- 8. the summary after a kill
def test_summary_keeps_the_metric_and_time_of_a_stage_killed_after_its_mask(
        tiny_cfg, finished, tmp_path, monkeypatch):
    """The time is checked against the seconds the killed stage's own checkpoint holds (it
    was compared with another run's wall time, which a busy machine made fail)."""
    import glob

    import torch
    work = str(tmp_path / 'w')
    crash(tiny_cfg, work, 'stage_mask', monkeypatch)
    stage = osp.join(work, 'rounds', 'round_01', 'part_0')
    ckpt = sorted(glob.glob(osp.join(stage, 'epoch_*.pth')))[-1]
    trained = torch.load(ckpt, map_location='cpu', weights_only=False)['colt_stage_seconds']
    assert train([tiny_cfg, '--work-dir', work, '--resume']) == 0
    got = json.load(open(osp.join(work, 'colt_summary.json')))['rounds'][0]['partitions'][0]
    ref = json.load(open(osp.join(finished, 'colt_summary.json')))['rounds'][0]['partitions'][0]
    assert got['metric'] == ref['metric'] is not None
    assert trained > 0 and got['seconds'] >= trained  # the training's time, kept over the kill


# ---------------------------------------------------------------- 9. a late check
def test_a_prunable_head_that_changes_shape_per_partition_is_refused_up_front(
        cls_data, tiny_cfg, tmp_path, capsys):
    work = tmp_path / 'w'
    bad = ['--cfg-options', "colt.prunable.include=['*']", 'colt.prunable.linear=True',
           'colt.prunable.norm=True']
    one_line(capsys, train([tiny_cfg, '--work-dir', str(work), *bad]),
             'whose shape changes with a partition', 'head')
    assert not work.exists()
    # the corrected config starts in the same (still unused) work dir
    assert train([tiny_cfg, '--work-dir', str(work), '--cfg-options',
                  "colt.prunable.include=['backbone.*']", 'colt.max_rounds=1',
                  'colt.final_train=False']) == 0


# ---------------------------------------------------------------- 10. one-line promises
@pytest.mark.parametrize('text, expected', [
    ('x = (\n', 'is not valid Python'),
    ("_base_ = ['./no_such_base.py']\n", 'inherits a file that does not exist'),
])
def test_broken_configs_are_one_line_errors(tmp_path, capsys, text, expected):
    cfg = tmp_path / 'bad.py'
    cfg.write_text(text)
    one_line(capsys, train([str(cfg)]), 'bad.py', expected)


def test_corrupt_files_are_named(finished, tiny_cfg, tmp_path, capsys, monkeypatch):
    import shutil
    work = str(tmp_path / 'w')
    shutil.copytree(finished, work)
    # an emptied result.json of a stage
    result = osp.join(work, 'rounds', 'round_01', 'part_0', 'result.json')
    open(result, 'w').close()
    os.remove(osp.join(work, 'tickets', 'round_01.safetensors'))  # the round is redone
    one_line(capsys, train([tiny_cfg, '--work-dir', work, '--resume']), 'result.json',
             'is empty or not valid JSON')
    # an emptied colt_settings.json
    work2 = str(tmp_path / 'w2')
    shutil.copytree(finished, work2)
    open(osp.join(work2, 'colt_settings.json'), 'w').close()
    one_line(capsys, train([tiny_cfg, '--work-dir', work2, '--resume']), 'colt_settings.json')


def test_a_replaced_stage_checkpoint_names_the_file(tiny_cfg, tmp_path, monkeypatch, capsys):
    work = str(tmp_path / 'w')
    crash(tiny_cfg, work, 'stage_epoch', monkeypatch)
    stage = osp.join(work, 'rounds', 'round_01', 'part_0')
    ckpt = osp.join(stage, open(osp.join(stage, 'last_checkpoint')).read().strip().split('/')[-1])
    import argparse
    torch.save({'state_dict': {}, 'x': argparse.Namespace(a=1)}, ckpt)  # not a plain weight
    line = one_line(capsys, train([tiny_cfg, '--work-dir', work, '--resume']),
                    osp.basename(ckpt), 'not plain weights', 'delete it')
    assert 'weights_only=False' not in line


def test_huge_ticket_shapes_name_the_file(finished, tmp_path, capsys):
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file
    src = osp.join(finished, 'tickets', 'final.safetensors')
    with safe_open(src, framework='pt') as f:
        meta = json.loads(f.metadata()['colt_det'])
    name = next(iter(meta['shapes']))
    meta['shapes'][name] = [10 ** 6, 10 ** 6]
    bad = str(tmp_path / 'huge.safetensors')
    save_file(load_file(src), bad, metadata={'colt_det': json.dumps(meta)})
    one_line(capsys, export_tool([bad, str(tmp_path / 'o.pth')]), 'huge.safetensors', name)


def test_export_to_an_unwritable_folder_names_the_target(finished, tmp_path, capsys):
    ro = tmp_path / 'ro'
    ro.mkdir()
    ro.chmod(0o500)
    try:
        if os.access(ro, os.W_OK):
            pytest.skip('running as a user who can write anywhere')
        line = one_line(capsys, export_tool([osp.join(finished, 'tickets', 'final.safetensors'),
                                             str(ro / 'o.pth')]), str(ro / 'o.pth'))
        assert '.tmp.' not in line
    finally:
        ro.chmod(0o700)


def test_a_full_disk_is_one_line(finished, tmp_path, capsys, monkeypatch):
    import colt_det.core.io as io

    def no_space(fd):
        raise OSError(errno.ENOSPC, 'No space left on device')
    monkeypatch.setattr(io.os, 'fsync', no_space)
    out = tmp_path / 'o.pth'
    one_line(capsys, export_tool([osp.join(finished, 'tickets', 'final.safetensors'),
                                  str(out)]), 'the disk is full', 'o.pth')
    assert not out.exists() and not [f for f in os.listdir(tmp_path) if f.startswith('.tmp.')]


def test_a_channel_ticket_of_another_model_says_so(cls_data, tmp_path, capsys):
    from colt_det.search import ColtSearch
    cfg = cls_config(cls_data, str(tmp_path / 'w'), granularity='channel', method='imp',
                     num_partitions=1, prune_ratio=0.3, target_sparsity=0.2)
    ColtSearch(cfg).run()
    other = cls_config(cls_data, str(tmp_path / 'w2'))
    other.model.backbone.widths = (8, 16, 16, 32)
    config = str(tmp_path / 'other.py')
    other.dump(config)
    one_line(capsys, export_tool([osp.join(cfg.work_dir, 'tickets', 'final.safetensors'),
                                  str(tmp_path / 'slim'), '--slim', config]),
             'channel ticket of another model', 'the config it was searched with')


# ---------------------------------------------------------------- promises without a test
def test_earlier_tickets_are_kept_when_a_later_round_diverges(tiny_cfg, tmp_path, capsys):
    from mmengine.hooks import Hook
    from mmengine.registry import HOOKS

    @HOOKS.register_module(force=True)
    class NaNInRound2(Hook):
        priority = 'HIGHEST'

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            if 'round_02' in runner.work_dir:
                outputs['loss'] = torch.tensor(float('nan'))
    work = str(tmp_path / 'w')
    cfg = tiny_cfg[:-3] + '_nan.py'
    with open(cfg, 'w') as f:
        f.write(open(tiny_cfg).read() + "custom_hooks = [dict(type='NaNInRound2')]\n")
    one_line(capsys, train([cfg, '--work-dir', work]), 'loss is nan', 'earlier tickets are kept')
    assert load_ticket(osp.join(work, 'tickets', 'round_01.safetensors')).masks
    assert not osp.exists(osp.join(work, 'tickets', 'round_02.safetensors'))


def test_final_masked_checkpoint_is_unchanged_once_the_final_ticket_exists(tiny_cfg, finished,
                                                                          tmp_path):
    import shutil
    work = str(tmp_path / 'w')
    shutil.copytree(finished, work)
    before = checksums(work)
    assert train([tiny_cfg, '--work-dir', work, '--resume']) == 0
    after = checksums(work)
    for name in ('final_masked.pth', 'tickets/final.safetensors', 'colt_settings.json'):
        assert after[name] == before[name], name


def test_stage_resources_are_released_when_it_fails(cls_data, tmp_path):
    import shutil
    import time

    from test_stage_release import _children, _open_files_under, wait_for_earlier_children

    from colt_det.search import ColtSearch
    data = tmp_path / 'data'
    shutil.copytree(cls_data, data)
    folder = data / 'train' / sorted(os.listdir(data / 'train'))[0]
    image = folder / sorted(os.listdir(folder))[0]
    image.write_bytes(image.read_bytes()[:20])
    work = str(tmp_path / 'w')
    cfg = cls_config(str(data), work)
    cfg.train_dataloader.num_workers = 2
    wait_for_earlier_children()
    with pytest.raises(Exception, match='cannot be read'):
        ColtSearch(cfg).run()
    deadline = time.time() + 30
    while _children() and time.time() < deadline:
        time.sleep(0.2)
    assert _children() == [] and _open_files_under(work) == []


@pytest.mark.parametrize('colt, message', [
    (dict(partition_scheme='alphabetical'), 'colt.partition_scheme must be one of'),
    (dict(seed=1.5), 'colt.seed must be an integer'),
    (dict(partition_groups=[list(range(10)), []], partition_scheme='explicit'),
     'a partition group is empty'),
])
def test_more_bad_settings_are_refused_before_any_write(cls_data, tmp_path, colt, message):
    from colt_det.search import ColtSearch
    work = tmp_path / 'w'
    with pytest.raises(ValueError, match=message):
        ColtSearch(cls_config(cls_data, str(work), **colt)).run()
    assert not work.exists()


def test_a_detection_policy_is_checked_against_the_task(voc_data, tmp_path):
    from colt_det.search import ColtSearch
    with pytest.raises(ValueError, match=r"colt.partition_policy must be one of \['ignore', "
                                         r"'drop', 'exclusive'\], got 'keep'"):
        ColtSearch(det_config(voc_data, str(tmp_path), partition_policy='keep'))


def test_docs_guarantee_table_names_tests_that_exist():
    """Every test docs/guarantees.md cites exists (file and, where named, function)."""
    import re
    text = open(osp.join(ROOT, 'docs', 'guarantees.md')).read()
    cited = set(re.findall(r'\btest_[a-z0-9_]+', text))
    assert len(cited) > 20
    sources = {}
    for d, _, files in os.walk(osp.join(ROOT, 'tests')):  # tests/ and its package folders
        for f in files:
            if f.endswith('.py'):
                sources[f[:-3]] = open(osp.join(d, f)).read()
    everything = '\n'.join(sources.values())
    missing = [t for t in sorted(cited) if t not in sources
               and not re.search(rf'def {t}\b', everything)]
    assert not missing, missing


def test_written_files_get_the_permissions_of_any_new_file(tmp_path):
    from colt_det.core.io import atomic_write_bytes
    old = os.umask(0o022)
    try:
        atomic_write_bytes(str(tmp_path / 'f'), b'x')
    finally:
        os.umask(old)
    assert (tmp_path / 'f').stat().st_mode & 0o777 == 0o644  # not the temp file's 0600
