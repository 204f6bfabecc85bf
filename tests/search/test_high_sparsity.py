"""High sparsity: gradual magnitude pruning (GMP), rounds that stop once their mask converged
(Early-Bird), and the per-layer floor that keeps global pruning from cutting layers."""
import functools
import json
import os.path as osp

import pytest
import torch

from colt_det.core import load_ticket, sparsity
from colt_det.core.pruning import magnitude_prune, prune_to_sparsity
from colt_det.core.schedule import cubic_sparsity, pruning_iters, resolve_iters
from colt_det.runtime.faults import SimulatedCrash

from conftest import cls_config, load_tool, write_tiny_cls_cfg

train = load_tool('train').main


# ------------------------------------------------------------------------------ the core
def test_cubic_schedule_rises_fast_then_slowly_and_ends_at_the_target():
    s = [cubic_sparsity(t, 10, 110, 0.9) for t in range(0, 131, 10)]
    assert s[:2] == [0.0, 0.0] and s[-3:] == [0.9, 0.9, 0.9]
    steps = [b - a for a, b in zip(s[1:], s[2:12])]
    assert all(x > y for x, y in zip(steps, steps[1:]))  # each step prunes less
    assert abs(cubic_sparsity(60, 10, 110, 0.9) - 0.9 * (1 - 0.5 ** 3)) < 1e-12
    assert pruning_iters(10, 110, 25) == [35, 60, 85, 110]
    assert resolve_iters(0.75, 600, 'end') == 450 and resolve_iters(30, 600, 'every') == 30
    with pytest.raises(ValueError, match='fraction of the training'):
        resolve_iters(1.5, 600, 'end')


def test_prune_to_sparsity_is_exact_and_keeps_what_is_pruned():
    g = torch.Generator().manual_seed(0)
    w = {'a': torch.randn(50, 20, generator=g), 'b': torch.randn(30, generator=g)}
    ones = {n: torch.ones_like(t, dtype=torch.bool) for n, t in w.items()}
    m1 = prune_to_sparsity({n: t.abs() for n, t in w.items()}, ones, 0.5)
    assert sparsity(m1).pruned == round(0.5 * 1030)
    m2 = prune_to_sparsity({n: t.abs() for n, t in w.items()}, m1, 0.9)
    assert sparsity(m2).pruned == round(0.9 * 1030)
    assert all(bool((m2[n] & ~m1[n]).sum() == 0) for n in w)  # never revives a weight
    # with the same scores, 50% then 90% is the one-shot 90% cut (stable order)
    once = magnitude_prune(w, ones, 0.9)
    assert all(torch.equal(once[n], m2[n]) for n in w)
    layer = prune_to_sparsity({n: t.abs() for n, t in w.items()}, ones, 0.8, scope='layer')
    assert [round(sparsity(layer).per_layer[n], 2) for n in w] == [0.8, 0.8]


def test_min_density_keeps_every_layer_alive_where_global_pruning_cuts_it():
    # layer 'small' has weights 100x smaller than 'big': global 98% pruning takes all of it
    g = torch.Generator().manual_seed(1)
    w = {'big': torch.randn(200, 50, generator=g), 'small': 0.01 * torch.randn(40, 5, generator=g)}
    ones = {n: torch.ones_like(t, dtype=torch.bool) for n, t in w.items()}
    cut = magnitude_prune(w, ones, 0.98)
    assert sparsity(cut).per_layer['small'] == 1.0  # layer collapse
    guarded = magnitude_prune(w, ones, 0.98, min_density=0.01)
    per = sparsity(guarded).per_layer
    assert per['small'] == 0.99 and int(guarded['small'].sum()) == 2
    # the same number of weights goes: the guard moves the cut, it does not shrink it
    assert sparsity(guarded).pruned == sparsity(cut).pruned == round(0.98 * 10200)
    # the protected ones are the layer's largest
    kept = w['small'].abs()[guarded['small']]
    assert kept.min() >= w['small'].abs()[~guarded['small']].max()
    layer = magnitude_prune(w, ones, 0.99, scope='layer', min_density=0.05)
    assert all(abs(s - 0.95) < 1e-9 for s in sparsity(layer).per_layer.values())


# ------------------------------------------------------------------------------ GMP
@pytest.fixture(scope='module')
def tiny_cfg(cls_data, tmp_path_factory):
    return write_tiny_cls_cfg(tmp_path_factory.mktemp('cfg'), cls_data)


GMP = ['--cfg-options', 'colt.method=gmp', 'colt.num_partitions=1', 'colt.target_sparsity=0.75',
       'colt.gmp.every=4', 'colt.gmp.end=0.8']  # steps at 4, 8 of 10


@pytest.fixture(scope='module')
def gmp_run(tiny_cfg, tmp_path_factory):
    work = str(tmp_path_factory.mktemp('gmp'))
    assert train([tiny_cfg, '--work-dir', work, *GMP]) == 0
    return work


def test_gmp_reaches_the_target_in_one_training_with_pruned_weights_zero(gmp_run):
    ticket = load_ticket(osp.join(gmp_run, 'tickets', 'final.safetensors'))
    report = sparsity(ticket.masks)
    assert report.pruned == round(0.75 * report.total)  # the target, exactly
    assert all(torch.all(ticket.trained[n][~m] == 0) for n, m in ticket.masks.items())
    state = torch.load(osp.join(gmp_run, 'final_masked.pth'), weights_only=True)['state_dict']
    assert all(torch.all(state[n][~m] == 0) for n, m in ticket.masks.items())
    summary = json.load(open(osp.join(gmp_run, 'colt_summary.json')))
    assert summary['rounds'] == [] and summary['final']['sparsity'] == report.overall
    # pruned while training: not the one-shot cut of theta0
    from colt_det.runtime.checkpoints import load_state
    theta0 = load_state(osp.join(gmp_run, 'theta0.safetensors'))
    once = magnitude_prune({n: theta0[n] for n in ticket.masks},
                           {n: torch.ones_like(m) for n, m in ticket.masks.items()}, 0.75)
    assert any(not torch.equal(once[n], m) for n, m in ticket.masks.items())


def test_gmp_killed_mid_training_resumes_to_the_same_ticket(tiny_cfg, gmp_run, tmp_path,
                                                            monkeypatch):
    work = str(tmp_path / 'w')
    monkeypatch.setenv('COLT_DET_CRASH_AT', 'stage_epoch')  # after the epoch-1 checkpoint
    with pytest.raises(SimulatedCrash):
        train([tiny_cfg, '--work-dir', work, *GMP])
    monkeypatch.delenv('COLT_DET_CRASH_AT')
    assert not osp.exists(osp.join(work, 'tickets', 'final.safetensors'))
    assert train([tiny_cfg, '--work-dir', work, '--resume', *GMP]) == 0
    ref = load_ticket(osp.join(gmp_run, 'tickets', 'final.safetensors'))
    got = load_ticket(osp.join(work, 'tickets', 'final.safetensors'))
    assert all(torch.equal(ref.masks[n], got.masks[n]) for n in ref.masks)
    assert all(torch.equal(ref.trained[n], got.trained[n]) for n in ref.masks)


def test_gmp_with_rewind_retrains_its_mask_from_theta0(tiny_cfg, gmp_run, tmp_path):
    work = str(tmp_path / 'w')
    assert train([tiny_cfg, '--work-dir', work, *GMP, 'colt.gmp.rewind=True']) == 0
    gmp = load_ticket(osp.join(work, 'tickets', 'gmp.safetensors'))
    final = load_ticket(osp.join(work, 'tickets', 'final.safetensors'))
    ref = load_ticket(osp.join(gmp_run, 'tickets', 'final.safetensors'))
    assert all(torch.equal(gmp.masks[n], ref.masks[n]) for n in ref.masks)  # the same GMP run
    assert all(torch.equal(final.masks[n], gmp.masks[n]) for n in gmp.masks)
    # retrained from theta0: other trained values than the GMP run's own
    assert any(not torch.equal(final.trained[n], ref.trained[n]) for n in ref.masks)
    result = json.load(open(osp.join(work, 'gmp', 'result.json')))
    assert 'accuracy/top1' in result['test_metrics']  # the GMP run's own metric


@pytest.mark.parametrize('opts, error', [
    (['colt.gmp.end=1.5'], 'fraction of the training'),
    (['colt.gmp.speed=2'], 'colt.gmp takes'),
    (['colt.method=imp', 'colt.gmp.every=2'], "schedule of method='gmp'"),
    (['colt.min_density=1.2'], 'colt.min_density must be in'),
])
def test_bad_gmp_and_guard_settings_are_refused_before_any_write(tiny_cfg, tmp_path, capsys,
                                                                 opts, error):
    work = str(tmp_path / 'w')
    base = GMP[:2] + ['colt.num_partitions=1'] + ([] if 'colt.method=imp' in opts else
                                                  ['colt.method=gmp'])
    assert train([tiny_cfg, '--work-dir', work, *base, *opts]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and error in err[0]
    assert not osp.exists(work)


# ------------------------------------------------------------------------------ early stop
def _round_result(work, r=1, i=0):
    return json.load(open(osp.join(work, 'rounds', f'round_{r:02d}', f'part_{i}', 'result.json')))


def test_early_stop_fires_on_a_converged_mask(cls_data, tmp_path):
    """lr 0: the weights never move, the mask is the same at every check."""
    from colt_det.search import ColtSearch
    cfg = cls_config(cls_data, str(tmp_path / 'w'), method='imp', num_partitions=1,
                     max_rounds=1, final_train=False, early_stop=dict(interval=2, eps=0.01))
    cfg.train_cfg = dict(by_epoch=True, max_epochs=4, val_interval=4)
    cfg.optim_wrapper.optimizer.lr = 0.0
    ColtSearch(cfg).run()
    res = _round_result(cfg.work_dir)
    es = res['early_stop']
    assert es['stopped_at'] == 4 and res['iters'] == 4  # second check, distance 0
    assert es['distances'] == [[4, 0.0]]
    assert res['train_samples'] == 4 * 32  # 4 batches, not the 4 epochs scheduled


def test_early_stop_does_not_fire_on_a_moving_mask(cls_data, tmp_path):
    from colt_det.search import ColtSearch
    cfg = cls_config(cls_data, str(tmp_path / 'w'), method='imp', num_partitions=1,
                     max_rounds=1, final_train=False, early_stop=dict(interval=2, eps=1e-6))
    cfg.train_cfg = dict(by_epoch=True, max_epochs=2, val_interval=2)
    ColtSearch(cfg).run()
    res = _round_result(cfg.work_dir)
    assert res['early_stop']['stopped_at'] is None
    assert all(d > 1e-6 for _, d in res['early_stop']['distances'])
    assert res['iters'] == 10  # the whole schedule: 2 epochs of 5 batches


def _stopping_cfg(cls_data, work):
    # checks at iterations 3, 6, ...: the stop at 6 comes in epoch 2 (5 batches an epoch)
    c = cls_config(cls_data, work, method='imp', num_partitions=1, max_rounds=1,
                   final_train=False, early_stop=dict(interval=3, eps=0.9))
    c.train_cfg = dict(by_epoch=True, max_epochs=4, val_interval=4)
    return c


@pytest.fixture(scope='module')
def stopped_run(cls_data, tmp_path_factory):
    from colt_det.search import ColtSearch
    work = str(tmp_path_factory.mktemp('stopped'))
    ColtSearch(_stopping_cfg(cls_data, work)).run()
    return work


@pytest.mark.parametrize('point', ['stage_epoch', 'stage_trained'])  # before / after the stop
def test_early_stopped_stage_killed_resumes_to_the_same_mask(cls_data, stopped_run, tmp_path,
                                                             monkeypatch, point):
    from colt_det.search import ColtSearch
    cfg = functools.partial(_stopping_cfg, cls_data)
    ref = stopped_run
    assert _round_result(ref)['early_stop']['stopped_at'] == 6 == _round_result(ref)['iters']
    work = str(tmp_path / 'w')
    monkeypatch.setenv('COLT_DET_CRASH_AT', point)
    with pytest.raises(SimulatedCrash):
        ColtSearch(cfg(work)).run()
    monkeypatch.delenv('COLT_DET_CRASH_AT')
    ColtSearch(cfg(work), resume=True).run()
    a = load_ticket(osp.join(ref, 'tickets', 'round_01.safetensors')).masks
    b = load_ticket(osp.join(work, 'tickets', 'round_01.safetensors')).masks
    assert all(torch.equal(a[n], b[n]) for n in a)
    assert _round_result(work)['early_stop'] == _round_result(ref)['early_stop']
