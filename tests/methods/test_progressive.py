"""Progressive channel pruning (``colt.method='progressive'``): channels removed while the final
stage trains until the backbone + neck's MACs reach the target; the ticket exports slim."""
import os.path as osp
import re

import pytest
import torch

from colt_det.core import load_ticket

from conftest import cls_config, det_config, dumped, killed_and_resumed, load_tool


def test_the_channel_cost_is_what_the_slim_model_costs(voc_data):
    """ChannelCost's arithmetic (what progressive pruning steers by) against MMEngine's
    complexity analysis of the slim model itself (which also counts the norms' elementwise
    operations: within 1%)."""
    from colt_det.core import ones_mask
    from colt_det.core.channel_cost import ChannelCost
    from colt_det.core.channels import channel_mask, channel_param_names
    from colt_det.core.prunable import channel_groups, feature_module
    from colt_det.deploy.measure import feature_macs
    from colt_det.deploy.slim import slim_copy
    from colt_det.tasks.base import get_task
    model = get_task('det').build_model(det_config(voc_data, '/tmp/unused')).eval()
    groups = channel_groups(model, 'deep')
    cost = ChannelCost(feature_module(model), torch.randn(1, 3, 96, 96), groups)
    assert cost.dense == pytest.approx(feature_macs(model, (96, 96)), rel=0.01)
    g = torch.Generator().manual_seed(0)
    keeps = [torch.rand(x.channels, generator=g) > 0.5 for x in groups]
    for k in keeps:
        k[0] = True
    mask = channel_mask(ones_mask(model, channel_param_names(groups)), groups, keeps)
    slim = slim_copy(model, mask, groups)
    assert cost.macs(mask) == pytest.approx(feature_macs(slim, (96, 96)), rel=0.01)
    assert cost.fraction(mask) == pytest.approx(
        feature_macs(slim, (96, 96)) / feature_macs(model, (96, 96)), abs=0.005)
    assert cost.fraction(mask) < 0.9


def test_the_whole_detector_cost_is_what_the_slim_detector_costs(voc_data):
    """Whole-detector channel groups: ChannelCost over backbone, neck, RPN head and RoI head
    at a fixed proposal count against MMEngine's analysis of the slim detector, part by part;
    the heads are a real share of it and lose MACs under the mask."""
    from colt_det.core import ones_mask
    from colt_det.core.channels import channel_mask, channel_param_names
    from colt_det.core.prunable import channel_cost, channel_groups, test_proposals
    from colt_det.deploy.measure import detector_macs
    from colt_det.deploy.slim import slim_copy
    from colt_det.tasks.base import get_task
    model = get_task('det').build_model(det_config(voc_data, '/tmp/unused')).eval()
    assert test_proposals(model) == model.test_cfg.rpn.max_per_img
    groups = channel_groups(model, 'detector')
    cost = channel_cost(model, 'detector', (96, 96), groups)
    dense = detector_macs(model, (96, 96))
    assert set(dense) == {'backbone', 'neck', 'rpn_head', 'roi_head', 'total'}
    assert dense['roi_head'] > 0.1 * dense['total']  # 100 RoIs through two FCs
    parts = cost.part_macs()
    for part in ('backbone', 'neck', 'rpn_head', 'roi_head'):
        assert parts[part] == pytest.approx(dense[part], rel=0.01), part
    assert cost.dense == pytest.approx(dense['total'], rel=0.01)
    # fewer proposals: the RoI head costs proportionally less, the rest is unchanged
    fewer = channel_cost(model, 'detector', (96, 96), groups, proposals=10).part_macs()
    assert fewer['roi_head'] == pytest.approx(parts['roi_head'] / 10, rel=1e-6)
    assert fewer['backbone'] == parts['backbone']
    g = torch.Generator().manual_seed(0)
    keeps = [torch.rand(x.channels, generator=g) > 0.5 for x in groups]
    for k in keeps:
        k[0] = True
    mask = channel_mask(ones_mask(model, channel_param_names(groups)), groups, keeps)
    slim = detector_macs(slim_copy(model, mask, groups), (96, 96))
    pruned = cost.part_macs(mask)
    for part in ('backbone', 'neck', 'rpn_head', 'roi_head', 'total'):
        got = cost.macs(mask) if part == 'total' else pruned[part]
        assert got == pytest.approx(slim[part], rel=0.01), part
        assert slim[part] < 0.9 * dense[part], part


@pytest.mark.parametrize('depth', ['detector'])
def test_a_progressive_detector_search_reaches_its_macs_and_exports_slim(voc_data, tmp_path,
                                                                         depth):
    """The whole detector: its MACs (heads at the test proposal count) reach the target,
    the heads' channels are among those pruned, the slim export costs what the mask does."""
    from colt_det.core.prunable import channel_cost, channel_groups
    from colt_det.search import ColtSearch
    from colt_det.tasks.base import get_task
    work = str(tmp_path / 'w')
    cfg = det_config(voc_data, work, method='progressive', granularity='channel',
                     # the filters' L1 norm: the heads' FCs start small (on this toy data and
                     # schedule, their Fisher is larger than the backbone's inner channels')
                     channel_groups=depth, channel_divisor=8, channel_score='l1',
                     progressive=dict(target_macs=0.5, end=0.6, every=2,
                                      input_size=(96, 96)), progress_interval=0)
    summary = ColtSearch(cfg).run()
    ticket = load_ticket(osp.join(work, 'tickets', 'final.safetensors'))
    model = get_task('det').build_model(cfg).eval()
    groups = channel_groups(model, depth)
    cost = channel_cost(model, depth, (96, 96), groups)
    frac = cost.fraction(ticket.masks)
    assert 0.4 <= frac <= 0.5  # reached, and not by much more than one block
    heads = [g for g in groups if g.scored[0].startswith(('rpn_head.', 'roi_head.'))]
    assert len(heads) == 3 and any(
        not ticket.masks[g.scored[0]].flatten(1).any(1).all() for g in heads)
    widths = [int(ticket.masks[g.scored[0]].flatten(1).any(1).sum()) for g in groups]
    assert all(w % 8 == 0 and w > 0 for w in widths)
    assert len(set(w / g.channels for w, g in zip(widths, groups))) > 2  # non-uniform
    assert summary['final']['metric'] is not None
    config = str(tmp_path / 'search.py')
    cfg.dump(config)
    assert load_tool('export_ticket').main([osp.join(work, 'tickets', 'final.safetensors'),
                                            str(tmp_path / 'slim'), '--slim', config]) == 0
    from colt_det.deploy.measure import detector_macs
    from colt_det.deploy.onnx import load_detector
    slim, _ = load_detector(str(tmp_path / 'slim.py'), str(tmp_path / 'slim.pth'))
    assert detector_macs(slim, (96, 96))['total'] / detector_macs(model, (96, 96))['total'] \
        == pytest.approx(frac, abs=0.005)


def test_progressive_pruning_killed_mid_training_resumes_to_the_same_ticket(
        cls_data, tmp_path, monkeypatch):
    def cfg(work):
        c = cls_config(cls_data, work, method='progressive', num_partitions=1,
                       granularity='channel', channel_groups='inner', channel_divisor=4,
                       channel_score='fisher_macs', progress_interval=0,
                       progressive=dict(target_macs=0.6, end=0.3, every=1,
                                        input_size=(32, 32)))
        # pruning ends inside the first epoch, the kill comes after it: only the mask kept in
        # the stage checkpoint (not the zeros in the weights) can carry the pruning over
        c.train_cfg = dict(by_epoch=True, max_epochs=3, val_interval=3)
        return dumped(c, tmp_path, work)
    ref, work = killed_and_resumed(cfg, tmp_path, monkeypatch)
    a = load_ticket(osp.join(ref, 'tickets', 'final.safetensors'))
    b = load_ticket(osp.join(work, 'tickets', 'final.safetensors'))
    assert all(torch.equal(a.masks[k], b.masks[k]) for k in a.masks)
    assert all(torch.equal(a.trained[k], b.trained[k]) for k in a.trained)
    assert any(not m.all() for m in a.masks.values())  # it pruned


@pytest.mark.parametrize('colt,message', [
    (dict(method='progressive'), "method='progressive' removes channels"),
    (dict(method='progressive', granularity='channel', progressive=dict(target_macs=1.5)),
     'colt.progressive.target_macs must be in (0, 1)'),
    (dict(method='progressive', granularity='channel', progressive=dict(speed=1)),
     'colt.progressive takes'),
    (dict(method='oneshot', progressive=dict(target_macs=0.5)),
     "colt.progressive is the schedule of method='progressive'"),
    (dict(method='progressive', granularity='channel', progressive=dict(start=0.6, end=0.2)),
     'colt.progressive.end (0.2) must come after start (0.6)'),
    (dict(method='progressive', granularity='channel', channel_score='fisher',
          progressive=dict(normalize='speed')),
     "colt.progressive.normalize must be one of [None, 'macs', 'latency'], got 'speed'"),
    (dict(method='progressive', granularity='channel', channel_score='fisher',
          progressive=dict(normalize='latency', latency_table='/nonexistent/table.json')),
     "colt.progressive.latency_table '/nonexistent/table.json' is not a file"),
    (dict(method='progressive', granularity='channel', progressive=dict(target_latency=1.0)),
     'colt.progressive.target_latency must be in (0, 1) or None, got 1.0'),
    (dict(method='progressive', granularity='channel', channel_score='fisher_macs',
          progressive=dict(normalize='latency')),
     "channel_score='fisher_macs' is already divided by its MACs"),
])
def test_bad_progressive_settings_are_refused(cls_data, tmp_path, colt, message):
    from colt_det.search import ColtSearch
    with pytest.raises(ValueError, match=re.escape(message)):
        ColtSearch(cls_config(cls_data, str(tmp_path), **colt))
