"""The COLT / IMP / random search on classification, end to end through MMEngine Runners."""
import json
import os
import os.path as osp

import pytest
import torch

from colt_det.core import intersect, is_subset, load_mask, load_ticket
from colt_det.runtime.checkpoints import load_state
from colt_det.search import ColtSearch, SearchError

from conftest import cls_config


@pytest.fixture(scope='module')
def colt_run(cls_data, tmp_path_factory):
    work = str(tmp_path_factory.mktemp('colt'))
    summary = ColtSearch(cls_config(cls_data, work)).run()
    return work, summary


def _result(work: str, r: int, i: int) -> dict:
    with open(osp.join(work, 'rounds', f'round_{r:02d}', f'part_{i}', 'result.json')) as f:
        return json.load(f)


def test_colt_search_outputs_and_summary_schema(colt_run):
    work, summary = colt_run
    with open(osp.join(work, 'colt_summary.json')) as f:
        on_disk = json.load(f)
    assert on_disk == json.loads(json.dumps(summary))
    assert summary['method'] == 'colt' and summary['num_partitions'] == 2
    assert summary['prune_ratio'] == 0.5 and summary['target_sparsity'] == 0.7
    rounds = summary['rounds']
    assert [r['round'] for r in rounds] == list(range(1, len(rounds) + 1))
    assert rounds[-1]['sparsity'] >= 0.7
    spars = [r['sparsity'] for r in rounds]
    assert spars == sorted(spars) and len(set(spars)) == len(spars)
    for r in rounds:
        assert osp.isfile(osp.join(work, 'tickets', f'round_{r["round"]:02d}.safetensors'))
        assert [p['index'] for p in r['partitions']] == [0, 1]
        classes = r['partitions'][0]['classes'] + r['partitions'][1]['classes']
        assert sorted(classes) == sorted(set(classes)) and len(classes) == 10
        assert [p['metric'] for p in r['partitions']] == [_result(work, r['round'], i)['metrics'][
            'accuracy/top1'] for i in (0, 1)]  # the summary reports what each stage measured
        assert 0.0 < r['overlap']['mean_jaccard'] <= 1.0
        # the training budget: 2 epochs over each partition's 5 classes x 16 images
        assert [p['train_samples'] for p in r['partitions']] == [2 * 5 * 16] * 2
        assert r['seconds'] > 0
    final = summary['final']
    assert final['sparsity'] == pytest.approx(rounds[-1]['sparsity'])
    assert final['metric_split'] == 'test'
    with open(osp.join(work, 'final', 'result.json')) as f:
        assert final['metric'] == json.load(f)['test_metrics']['accuracy/top1']
    assert osp.isfile(osp.join(work, 'tickets', 'final.safetensors'))
    assert osp.isfile(osp.join(work, 'final_masked.pth'))
    # stage checkpoints are dropped once a round's ticket exists
    assert not [f for f in os.listdir(osp.join(work, 'rounds', 'round_01', 'part_0'))
                if f.endswith('.pth')]


def test_round_one_removes_at_least_p_and_mask_is_intersection(colt_run):
    work, summary = colt_run
    # each partition prunes exactly p of the remaining weights; their intersection removes more
    # unless they agree completely
    assert summary['rounds'][0]['sparsity'] >= 0.5 - 1e-3
    parts = [load_mask(osp.join(work, 'rounds', 'round_01', f'part_{i}', 'mask.safetensors'))
             for i in range(2)]
    ticket = load_ticket(osp.join(work, 'tickets', 'round_01.safetensors'))
    expected = intersect(parts)
    assert all(torch.equal(ticket.masks[k], expected[k]) for k in expected)
    assert all(is_subset(ticket.masks, p) for p in parts)
    assert ticket.meta['round'] == 1 and ticket.meta['num_partitions'] == 2
    assert ticket.meta['prune_ratio'] == 0.5 and ticket.meta['seed'] == 0
    assert len(ticket.meta['classes']) == 10 and ticket.meta['toolkit_version']
    # the next round starts from this mask: its partition masks are subsets of it
    parts2 = [load_mask(osp.join(work, 'rounds', 'round_02', f'part_{i}', 'mask.safetensors'))
              for i in range(2)]
    assert all(is_subset(p, ticket.masks) for p in parts2)


def test_ticket_holds_theta0_and_final_weights_are_sparse(colt_run):
    work, _ = colt_run
    theta0 = load_state(osp.join(work, 'theta0.safetensors'))
    final = load_ticket(osp.join(work, 'tickets', 'final.safetensors'))
    assert final.trained is not None
    for k, m in final.masks.items():
        assert torch.equal(final.theta0[k], theta0[k] * m)  # rewound survivors = theta0
        assert torch.all(final.trained[k][~m] == 0)  # pruned weights stayed exactly zero
    ckpt = torch.load(osp.join(work, 'final_masked.pth'), map_location='cpu', weights_only=True)
    for k, m in final.masks.items():
        assert torch.all(ckpt['state_dict'][k][~m] == 0)
    assert ckpt['meta']['dataset_meta']['classes']


def test_same_seed_same_masks_and_imp_shares_theta0(cls_data, colt_run, tmp_path):
    work, summary = colt_run
    cfg = cls_config(cls_data, str(tmp_path / 'again'), target_sparsity=0.4, final_train=False)
    ColtSearch(cfg).run()
    a = load_ticket(osp.join(work, 'tickets', 'round_01.safetensors')).masks
    b = load_ticket(str(tmp_path / 'again' / 'tickets' / 'round_01.safetensors')).masks
    assert all(torch.equal(a[k], b[k]) for k in a)

    imp = cls_config(cls_data, str(tmp_path / 'imp'), method='imp', num_partitions=1,
                     target_sparsity=0.4, final_train=False)
    imp_summary = ColtSearch(imp).run()
    t0a = load_state(osp.join(work, 'theta0.safetensors'))
    t0b = load_state(str(tmp_path / 'imp' / 'theta0.safetensors'))
    backbone = [k for k in t0a if k.startswith('backbone.')]
    assert all(torch.equal(t0a[k], t0b[k]) for k in backbone)
    assert imp_summary['num_partitions'] == 1
    # IMP removes exactly p of the weights per round (no intersection)
    assert imp_summary['rounds'][0]['sparsity'] == pytest.approx(0.5, abs=1e-3)
    assert imp_summary['rounds'][0]['partitions'][0]['classes'] == summary['rounds'][0][
        'partitions'][0]['classes'] + summary['rounds'][0]['partitions'][1]['classes']


def _from_round_2(cls_data, colt_run, tmp_path, method: str, option: str):
    """A one-partition ``method`` search whose ``option`` names the COLT run's round-2 ticket:
    (that ticket, the final ticket, the summary)."""
    src = osp.join(colt_run[0], 'tickets', 'round_02.safetensors')
    cfg = cls_config(cls_data, str(tmp_path / method), method=method, num_partitions=1,
                     **{option: src})
    summary = ColtSearch(cfg).run()
    final = load_ticket(str(tmp_path / method / 'tickets' / 'final.safetensors'))
    return load_ticket(src), final, summary


def test_random_ticket_same_per_layer_sparsity(cls_data, colt_run, tmp_path):
    src, final, summary = _from_round_2(cls_data, colt_run, tmp_path, 'random', 'random_from')
    a, b = src.masks, final.masks
    for k in a:
        assert int(a[k].sum()) == int(b[k].sum())
    assert not all(torch.equal(a[k], b[k]) for k in a)
    assert summary['method'] == 'random' and summary['rounds'] == []


def test_mask_method_trains_the_given_mask_from_this_theta0(cls_data, colt_run, tmp_path):
    a, b, summary = _from_round_2(cls_data, colt_run, tmp_path, 'mask', 'mask_from')
    assert all(torch.equal(a.masks[k], b.masks[k]) for k in a.masks)
    # the same seed gives the same theta0: the whole state, BatchNorm included, is rewound
    t0a = load_state(osp.join(colt_run[0], 'theta0.safetensors'))
    t0b = load_state(str(tmp_path / 'mask' / 'theta0.safetensors'))
    assert t0a.keys() == t0b.keys() and all(torch.equal(t0a[k], t0b[k]) for k in t0a)
    assert all(torch.equal(a.theta0[k], b.theta0[k]) for k in a.masks)
    assert all(torch.all(b.trained[k][~b.masks[k]] == 0) for k in b.masks)
    assert summary['method'] == 'mask' and summary['rounds'] == []
    with pytest.raises(ValueError, match="needs mask_from"):
        ColtSearch(cls_config(cls_data, str(tmp_path / 'bad'), method='mask',
                              num_partitions=1)).run()


def test_resume_skips_finished_stages_and_never_restarts(cls_data, colt_run, tmp_path):
    work, summary = colt_run
    cfg = cls_config(cls_data, work)
    with pytest.raises(SearchError, match='--resume'):
        ColtSearch(cfg).run()
    before = {f: os.path.getmtime(osp.join(work, 'tickets', f))
              for f in os.listdir(osp.join(work, 'tickets'))}
    again = ColtSearch(cls_config(cls_data, work), resume=True).run()
    assert [r['sparsity'] for r in again['rounds']] == [r['sparsity'] for r in summary['rounds']]
    after = {f: os.path.getmtime(osp.join(work, 'tickets', f))
             for f in os.listdir(osp.join(work, 'tickets'))}
    assert before == after  # nothing rewritten
    with pytest.raises(SearchError, match='no search found'):
        ColtSearch(cls_config(cls_data, str(tmp_path / 'none')), resume=True).run()


def test_nan_loss_stops_round_with_one_line_error(cls_data, tmp_path):
    from colt_det.errors import NonFiniteLossError
    cfg = cls_config(cls_data, str(tmp_path))
    cfg.optim_wrapper.optimizer.lr = 1e12
    with pytest.raises(NonFiniteLossError, match=r'loss is (nan|inf) at iteration \d+'):
        ColtSearch(cfg).run()
    assert not os.path.exists(tmp_path / 'tickets')


def test_init_ticket_already_at_target_is_refused(cls_data, colt_run, tmp_path):
    work, _ = colt_run
    ticket = osp.join(work, 'tickets', 'round_02.safetensors')
    cfg = cls_config(cls_data, str(tmp_path), target_sparsity=0.5,
                     init_ticket=dict(path=ticket, mode='rewind'))
    with pytest.raises(SearchError, match='already reaches target_sparsity'):
        ColtSearch(cfg).run()
    assert os.listdir(tmp_path) == []  # nothing written
    # method='ticket' trains it as it is, with its mask and theta0 values
    cfg = cls_config(cls_data, str(tmp_path / 'fixed'), method='ticket', num_partitions=1,
                     init_ticket=dict(path=ticket, mode='rewind'))
    summary = ColtSearch(cfg).run()
    src = load_ticket(ticket)
    final = load_ticket(str(tmp_path / 'fixed' / 'tickets' / 'final.safetensors'))
    assert all(torch.equal(src.masks[k], final.masks[k]) for k in src.masks)
    assert all(torch.equal(src.theta0[k], final.theta0[k]) for k in src.masks)
    assert summary['final']['sparsity'] == pytest.approx(src.sparsity)
    report = json.load(open(tmp_path / 'fixed' / 'transfer_report.json'))
    assert report['coverage'] > 0.9 and report['mapped'] == len(src.masks)


def test_late_rewinding_rewinds_to_iteration_k(cls_data, tmp_path):
    cfg = cls_config(cls_data, str(tmp_path), rewind_iter=3, target_sparsity=0.4,
                     final_train=False)
    ColtSearch(cfg).run()
    init = load_state(str(tmp_path / 'theta_init.safetensors'))
    theta0 = load_state(str(tmp_path / 'theta0.safetensors'))
    conv = 'backbone.features.0.weight'
    assert not torch.equal(init[conv], theta0[conv])  # 3 dense iterations moved the weights
    ticket = load_ticket(str(tmp_path / 'tickets' / 'round_01.safetensors'))
    for k, m in ticket.masks.items():
        assert torch.equal(ticket.theta0[k], theta0[k] * m)
    rewind_result = json.load(open(tmp_path / 'rewind' / 'result.json'))
    assert rewind_result['iters'] == 3


def test_oneshot_prunes_theta0_by_magnitude_once(cls_data, tmp_path):
    from colt_det.core import magnitude_prune
    cfg = cls_config(cls_data, str(tmp_path), method='oneshot', num_partitions=1,
                     target_sparsity=0.6)
    summary = ColtSearch(cfg).run()
    theta0 = load_state(str(tmp_path / 'theta0.safetensors'))
    got = load_ticket(str(tmp_path / 'tickets' / 'final.safetensors')).masks
    want = magnitude_prune({k: theta0[k] for k in got},
                           {k: torch.ones_like(m) for k, m in got.items()}, 0.6)
    assert all(torch.equal(got[k], want[k]) for k in got)
    assert summary['rounds'] == [] and summary['final']['sparsity'] == pytest.approx(0.6, abs=1e-3)
