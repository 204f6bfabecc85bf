"""Progressive channel pruning (``colt.method='progressive'``): channels removed while the final
stage trains until the backbone + neck's MACs reach the target; the ticket exports slim."""
import os.path as osp

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


def test_a_progressive_detector_search_reaches_its_macs_and_exports_slim(voc_data, tmp_path):
    from colt_det.core.channel_cost import ChannelCost
    from colt_det.core.prunable import channel_groups, feature_module
    from colt_det.search import ColtSearch
    from colt_det.tasks.base import get_task
    work = str(tmp_path / 'w')
    cfg = det_config(voc_data, work, method='progressive', granularity='channel',
                     channel_groups='deep', channel_divisor=8, channel_score='fisher_macs',
                     progressive=dict(target_macs=0.5, end=0.6, every=2,
                                      input_size=(96, 96)), progress_interval=0)
    summary = ColtSearch(cfg).run()
    ticket = load_ticket(osp.join(work, 'tickets', 'final.safetensors'))
    model = get_task('det').build_model(cfg).eval()
    groups = channel_groups(model, 'deep')
    frac = ChannelCost(feature_module(model), torch.randn(1, 3, 96, 96),
                       groups).fraction(ticket.masks)
    assert 0.4 <= frac <= 0.5  # reached, and not by much more than one block
    widths = [int(ticket.masks[g.scored[0]].flatten(1).any(1).sum()) for g in groups]
    assert all(w % 8 == 0 and w > 0 for w in widths)
    assert len(set(w / g.channels for w, g in zip(widths, groups))) > 2  # non-uniform
    assert summary['final']['metric'] is not None
    config = str(tmp_path / 'search.py')
    cfg.dump(config)
    assert load_tool('export_ticket').main([osp.join(work, 'tickets', 'final.safetensors'),
                                            str(tmp_path / 'slim'), '--slim', config]) == 0
    from colt_det.deploy.measure import feature_macs
    from colt_det.deploy.onnx import load_detector
    slim, _ = load_detector(str(tmp_path / 'slim.py'), str(tmp_path / 'slim.pth'))
    assert feature_macs(slim, (96, 96)) / feature_macs(model, (96, 96)) == \
        pytest.approx(frac, abs=0.005)


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
])
def test_bad_progressive_settings_are_refused(cls_data, tmp_path, colt, message):
    from colt_det.search import ColtSearch
    with pytest.raises(ValueError, match=message.replace('(', r'\(').replace(')', r'\)')):
        ColtSearch(cls_config(cls_data, str(tmp_path), **colt))
