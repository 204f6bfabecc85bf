"""Channel tickets: coupled-channel groups, structured pruning, slim export equal to the mask."""
import json
import os.path as osp

import pytest
import torch

from colt_det.core import apply_mask, load_ticket, ones_mask, save_ticket, state_of
from colt_det.core.channels import (
    channel_keep,
    channel_mask,
    channel_param_names,
    channel_prune,
    find_channel_groups,
)

from conftest import ROOT, cls_config, det_config, load_tool

TRACE = torch.randn(1, 3, 64, 64)


def _resnet18():
    from mmdet.models.backbones import ResNet
    return ResNet(depth=18)


def test_groups_are_the_inner_channels_of_every_block():
    from colt_det.tasks.cls.models import SmallConvNet
    groups = find_channel_groups(_resnet18(), TRACE, 'backbone.')
    assert [g.scored for g in groups] == [[f'backbone.layer{s}.{b}.conv1.weight']
                                          for s in (1, 2, 3, 4) for b in (0, 1)]
    g = groups[0]
    assert g.producers == ['backbone.layer1.0.bn1.bias', 'backbone.layer1.0.bn1.weight',
                           'backbone.layer1.0.conv1.weight']
    assert g.consumers == ['backbone.layer1.0.conv2.weight'] and g.channels == 64
    # a plain conv stack: every conv but the last, whose channels leave the backbone
    net = SmallConvNet(widths=(8, 16, 16, 16))
    convs = [n for n, m in net.named_modules() if isinstance(m, torch.nn.Conv2d)]
    assert sorted(g.scored[0] for g in find_channel_groups(net, TRACE)) == \
        sorted(f'{n}.weight' for n in convs[:-1])


def test_channel_prune_is_structured_nested_and_deterministic():
    net = _resnet18()
    groups = find_channel_groups(net, TRACE)
    params = dict(net.named_parameters())
    mask = ones_mask(net, channel_param_names(groups))
    assert sorted(mask) == sorted(channel_param_names(groups))
    half = channel_prune(params, mask, groups, 0.5, 'layer')
    assert [int(channel_keep(half, g).sum()) for g in groups] == [g.channels // 2 for g in groups]
    for g in groups:  # a pruned channel is pruned in every producer, row by row
        keep = channel_keep(half, g)
        for n in g.producers:
            rows = half[n].flatten(1) if half[n].dim() > 1 else half[n][:, None]
            assert torch.equal(rows.all(1), keep) and torch.equal(rows.any(1), keep)
        # the kept channels are the filters with the largest L1 norms
        l1 = params[g.scored[0]].detach().abs().flatten(1).sum(1)
        assert l1[keep].min() >= l1[~keep].max()
    again = channel_prune(params, half, groups, 0.5, 'global')
    assert all(torch.equal(again[n] & half[n], again[n]) for n in half)  # nested
    assert all(channel_keep(again, g).any() for g in groups)  # no layer cut
    assert all(torch.equal(a, b) for a, b in zip(
        channel_prune(params, half, groups, 0.5, 'global').values(), again.values()))
    # 'l1_bn': a channel its BN scales to nothing goes first, whatever its filter norm
    g0 = groups[0]
    bn = [n for n in g0.producers if n.endswith('bn1.weight')][0]
    strongest = int(params[g0.scored[0]].detach().abs().flatten(1).sum(1).argmax())
    with torch.no_grad():
        params[bn][strongest] = 1e-6
    assert channel_keep(channel_prune(params, mask, groups, 0.5), g0)[strongest]
    assert not channel_keep(channel_prune(params, mask, groups, 0.5, score='l1_bn'),
                            g0)[strongest]


def test_intersection_of_channel_masks_is_a_channel_mask():
    from colt_det.core import intersect
    net = _resnet18()
    groups = find_channel_groups(net, TRACE)
    like = ones_mask(net, channel_param_names(groups))
    g = torch.Generator().manual_seed(0)
    a, b = (channel_mask(like, groups, [torch.rand(x.channels, generator=g) > 0.3
                                        for x in groups]) for _ in range(2))
    both = intersect([a, b])
    for x in groups:
        assert torch.equal(channel_keep(both, x), channel_keep(a, x) & channel_keep(b, x))


def _fake_channel_ticket(model, groups, path, seed=0, depth='inner', divisor=1):
    """A final channel ticket of ``model``: random channels pruned (a multiple of ``divisor``
    kept per group), masked trained values."""
    g = torch.Generator().manual_seed(seed)
    like = ones_mask(model, channel_param_names(groups))
    keeps = []
    for x in groups:
        k = torch.zeros(x.channels, dtype=torch.bool)
        n = max(divisor, int(torch.randint(1, x.channels, (1,), generator=g)) // divisor
                * divisor)
        k[torch.randperm(x.channels, generator=g)[:n]] = True
        keeps.append(k)
    mask = channel_mask(like, groups, keeps)
    with torch.no_grad():  # BN statistics that are not the defaults, so slimming must keep them
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5, generator=g)
                m.running_var.uniform_(0.5, 1.5, generator=g)
    apply_mask(model, mask)
    trained = state_of(model)
    save_ticket(path, mask, trained, trained=trained,
                dense={k: v for k, v in trained.items() if k not in mask},
                meta=dict(arch='test', granularity='channel', channel_groups=depth))
    return mask


@pytest.mark.parametrize('depth, divisor', [('inner', 1), ('deep', 8), ('detector', 8)])
def test_slim_detector_equals_the_masked_detector(voc_data, tmp_path, depth, divisor):
    """export --slim: fewer parameters and FLOPs-bearing channels, the same features; deep
    tickets also narrow the residual streams, the stem and the FPN's lateral convs;
    whole-detector tickets also the RPN conv and the RoI head's FCs, with the same head
    outputs."""
    from mmengine.runner import load_checkpoint

    from colt_det.core.prunable import channel_groups
    from colt_det.tasks.base import get_task
    cfg = det_config(voc_data, str(tmp_path / 'w'), granularity='channel',
                     channel_groups=depth, channel_divisor=divisor)
    task = get_task('det')
    model = task.build_model(cfg)
    groups = channel_groups(model, depth)
    producers = {n for g in groups for n in g.producers}
    consumers = {n for g in groups for n in g.consumers}
    heads = {'rpn_head.rpn_conv.weight', 'roi_head.bbox_head.shared_fcs.0.weight',
             'roi_head.bbox_head.shared_fcs.1.weight'}
    assert (heads <= producers) == (depth == 'detector')
    if depth == 'detector':
        assert {'rpn_head.rpn_cls.weight', 'rpn_head.rpn_reg.weight',
                'roi_head.bbox_head.fc_cls.weight', 'roi_head.bbox_head.fc_reg.weight',
                'roi_head.bbox_head.shared_fcs.1.weight'} <= consumers
        # the classifier's and regressor's outputs, and the neck's, keep their width
        assert not any(n.startswith(('neck.fpn_convs', 'roi_head.bbox_head.fc_',
                                     'rpn_head.rpn_cls', 'rpn_head.rpn_reg')) for n in producers)
    if depth != 'inner':
        assert {'backbone.conv1.weight', 'backbone.layer2.0.downsample.0.weight',
                'backbone.layer4.1.conv2.weight'} <= producers  # stem and residual streams
        assert 'neck.lateral_convs.3.conv.weight' in consumers  # reads layer4's stream
        # the FPN's lateral channels, read by its output convs (whose outputs stay whole)
        assert 'neck.lateral_convs.0.conv.weight' in producers
        assert 'neck.fpn_convs.0.conv.weight' in consumers
        assert not any(n.startswith('neck.fpn_convs') for n in producers)
    ticket = str(tmp_path / 'final.safetensors')
    _fake_channel_ticket(model, groups, ticket, depth=depth, divisor=divisor)
    config = str(tmp_path / 'search.py')
    cfg.dump(config)
    export = load_tool('export_ticket')
    assert export.main([ticket, str(tmp_path / 'slim'), '--slim', config]) == 0
    slim = task.build_model(__import__('mmengine').config.Config.fromfile(
        str(tmp_path / 'slim.py')))
    load_checkpoint(slim, str(tmp_path / 'slim.pth'), map_location='cpu', strict=True)
    model.eval()
    slim.eval()
    x = torch.randn(2, 3, 96, 96)
    with torch.no_grad():
        want, got = model.extract_feat(x), slim.extract_feat(x)
        rois = torch.randn(5, 64, 7, 7)
        heads_want = [model.rpn_head(want), model.roi_head.bbox_head(rois)]
        heads_got = [slim.rpn_head(got), slim.roi_head.bbox_head(rois)]
    # tolerance: float32 sums over fewer (non-zero) terms in another order
    assert all(torch.allclose(a, b, rtol=1e-4, atol=1e-5) for a, b in zip(want, got))
    flat = [t for out in (heads_want, heads_got) for t in torch.utils._pytree.tree_leaves(out)]
    assert len(flat) % 2 == 0 and all(torch.allclose(a, b, rtol=1e-4, atol=1e-5) for a, b in zip(
        flat[:len(flat) // 2], flat[len(flat) // 2:]))
    narrowed = {n for n, p in slim.state_dict().items() if p.shape != model.state_dict()[n].shape}
    assert (heads <= narrowed) == (depth == 'detector')
    n_full = sum(p.numel() for p in model.parameters())
    n_slim = sum(p.numel() for p in slim.parameters())
    removed = sum(int((~channel_keep(load_ticket(ticket).masks, g)).sum()) for g in groups)
    assert removed > 0 and n_slim < n_full
    widths = [s[0] for n, s in json.loads(json.dumps(
        {k: list(v.shape) for k, v in slim.state_dict().items()})).items()
        if n.endswith('conv2.weight') and n.startswith('backbone.layer')]
    assert all(w % divisor == 0 for w in widths), widths
    # the slim model is evaluated by tools/test.py like any detector
    test = load_tool('test')
    out = tmp_path / 'metrics.json'
    assert test.main([str(tmp_path / 'slim.py'), str(tmp_path / 'slim.pth'), '--out',
                      str(out), '--no-coco']) == 0
    masked_out = tmp_path / 'masked.json'
    assert test.main([config, ticket, '--out', str(masked_out), '--no-coco']) == 0
    slim_m, masked_m = json.load(open(out)), json.load(open(masked_out))
    # the same detections: equal mAP (float rounding of the fewer-term sums aside)
    assert abs(slim_m['voc07/mAP'] - masked_m['voc07/mAP']) <= 1e-3
    assert abs(slim_m['voc_area/mAP'] - masked_m['voc_area/mAP']) <= 1e-3
    # never overwritten; a weight (unstructured) ticket cannot be slimmed
    assert export.main([ticket, str(tmp_path / 'slim'), '--slim', config]) == 1


def test_weight_ticket_cannot_be_slimmed(cls_data, tmp_path, capsys):
    from colt_det.tasks.base import get_task
    cfg = cls_config(cls_data, str(tmp_path / 'w'))
    model = get_task('cls').build_model(cfg)
    trained = state_of(model)
    names = [n for n in trained if n.endswith('conv.weight') or n.startswith('backbone.')]
    mask = {n: torch.ones_like(trained[n], dtype=torch.bool) for n in names
            if trained[n].dim() == 4}
    ticket = str(tmp_path / 't.safetensors')
    save_ticket(ticket, mask, trained, trained=trained, meta=dict(arch='x'))
    config = str(tmp_path / 'c.py')
    cfg.dump(config)
    capsys.readouterr()
    assert load_tool('export_ticket').main([ticket, str(tmp_path / 's'), '--slim', config]) == 1
    assert 'not a channel ticket' in capsys.readouterr().err


@pytest.mark.parametrize('method', ['colt', 'imp'])
def test_channel_search_exports_a_smaller_classifier(cls_data, tmp_path, method):
    """Channel COLT/IMP end to end: search, final training, slim export, same predictions."""
    from mmengine.config import Config
    from mmengine.runner import load_checkpoint

    from colt_det.runtime.checkpoints import checkpoint_from_ticket
    from colt_det.search import ColtSearch
    from colt_det.tasks.base import get_task
    work = str(tmp_path / 'w')
    cfg = cls_config(cls_data, work, granularity='channel', prune_scope='layer',
                     target_sparsity=0.6, progress_interval=0, method=method,
                     num_partitions=2 if method == 'colt' else 1)
    summary = ColtSearch(cfg).run()
    ticket = load_ticket(osp.join(work, 'tickets', 'final.safetensors'))
    assert ticket.meta['granularity'] == 'channel'
    assert summary['rounds'][-1]['sparsity'] >= 0.6
    for n, m in ticket.masks.items():  # structured: whole rows
        rows = m.flatten(1) if m.dim() > 1 else m[:, None]
        assert torch.equal(rows.all(1), rows.any(1))
    config = str(tmp_path / 'search.py')
    cfg.dump(config)
    assert load_tool('export_ticket').main([osp.join(work, 'tickets', 'final.safetensors'),
                                            str(tmp_path / 'slim'), '--slim', config]) == 0
    task = get_task('cls')
    slim = task.build_model(Config.fromfile(str(tmp_path / 'slim.py')))
    load_checkpoint(slim, str(tmp_path / 'slim.pth'), strict=True)
    masked = task.build_model(cfg)
    load_checkpoint(masked, checkpoint_from_ticket(osp.join(work, 'tickets',
                                                            'final.safetensors'),
                                                   str(tmp_path / 'm.pth')), strict=True)
    slim.eval()
    masked.eval()
    x = torch.randn(8, 3, 16, 16)
    with torch.no_grad():
        assert torch.allclose(slim(x, mode='tensor'), masked(x, mode='tensor'), atol=1e-5)
    assert sum(p.numel() for p in slim.parameters()) < \
        0.7 * sum(p.numel() for p in masked.parameters())
    # tools/test.py: the slim model scores what the ticket scores
    import json
    test = load_tool('test')
    for name, ckpt in (('slim', str(tmp_path / 'slim.pth')),
                       ('ticket', osp.join(work, 'tickets', 'final.safetensors'))):
        assert test.main([str(tmp_path / 'slim.py') if name == 'slim' else config, ckpt,
                          '--out', str(tmp_path / f'{name}.json')]) == 0
    scores = [json.load(open(tmp_path / f'{n}.json'))['accuracy/top1'] for n in ('slim', 'ticket')]
    assert scores[0] == scores[1] == pytest.approx(summary['final']['metric'])


@pytest.mark.parametrize('colt,message', [
    (dict(granularity='channel', method='ticket', init_ticket=dict(path='x.safetensors')),
     "granularity='channel' works with method"),
    (dict(granularity='channel', method='gmp'), "method='gmp' prunes single weights"),
    (dict(method='torch_pruning', granularity='channel'), "channel_groups='deep'"),
    (dict(method='torch_pruning', granularity='channel', channel_groups='deep',
          torch_pruning=dict(importance='hessian')),
     "colt.torch_pruning.importance must be one of ['group_magnitude', 'taylor']"),
    (dict(method='torch_pruning', granularity='channel', channel_groups='deep',
          torch_pruning=dict(importance='taylor', batches=0)), 'batches must be an integer'),
    (dict(method='oneshot', oneshot=dict(target_macs=0.5)), 'is a cost of channel tickets'),
    (dict(method='oneshot', granularity='channel', oneshot=dict(target_macs=1.5)),
     'colt.oneshot.target_macs must be in'),
    (dict(method='colt', oneshot=dict(target_macs=0.5)), "colt.oneshot is the schedule of"),
    (dict(granularity='block'), "colt.granularity must be one of ['weight', 'channel']"),
    (dict(granularity='channel', weight_score='movement'), "weight_score='movement' scores"),
    (dict(weight_score='gradient'), "colt.weight_score must be one of"),
])
def test_channel_settings_errors(cls_data, tmp_path, colt, message):
    from colt_det.search import ColtSearch
    with pytest.raises(ValueError, match=message.replace('[', r'\[').replace(']', r'\]')):
        ColtSearch(cls_config(cls_data, str(tmp_path), **colt))


def test_channel_configs_parse():
    from mmengine.config import Config

    from colt_det.search.settings import ColtSettings
    for name in ('channel_colt_faster_rcnn_demo', 'channel_imp_faster_rcnn_demo',
                 'channel_colt_smallconv_demo', 'channel_imp_smallconv_demo'):
        s = ColtSettings.from_cfg(Config.fromfile(osp.join(ROOT, 'configs', f'{name}.py')).colt)
        assert s.granularity == 'channel'


def test_channel_divisor_keeps_a_multiple_of_the_divisor_in_every_group():
    from colt_det.core.channels import ChannelGroup, channel_prune
    g = torch.Generator().manual_seed(0)
    w = {f'c{i}.weight': torch.randn(c, 4, 3, 3, generator=g) for i, c in enumerate((32, 24, 64))}
    groups = [ChannelGroup([n], [n], [f'x{n}'], [], w[n].shape[0]) for n in w]
    mask = {n: torch.ones_like(t, dtype=torch.bool) for n, t in w.items()}
    for scope in ('layer', 'global'):
        m = mask
        for _ in range(3):
            m = channel_prune(w, m, groups, 0.3, scope=scope, divisor=8)
            kept = [int(channel_keep(m, x).sum()) for x in groups]
            assert all(k % 8 == 0 and k >= 8 for k in kept), (scope, kept)
    # without the divisor the widths are whatever the ratio gives
    assert [int(channel_keep(channel_prune(w, mask, groups, 0.3), x).sum())
            for x in groups] == [22, 17, 45]


def test_onnx_export_of_a_slim_detector_runs_in_onnxruntime_like_torch(voc_data, tmp_path):
    """--onnx: the slim detector's backbone+neck and RPN maps, in stock onnxruntime, equal to
    eager torch within colt_det.deploy.onnx.TOLERANCE."""
    import numpy as np

    from colt_det.core.prunable import channel_groups
    from colt_det.deploy.onnx import TOLERANCE, TensorPart, load_detector, onnx_session
    from colt_det.tasks.base import get_task
    cfg = det_config(voc_data, str(tmp_path / 'w'), granularity='channel',
                     channel_groups='deep')
    model = get_task('det').build_model(cfg)
    ticket = str(tmp_path / 'final.safetensors')
    _fake_channel_ticket(model, channel_groups(model, 'deep'), ticket, depth='deep')
    config = str(tmp_path / 'search.py')
    cfg.dump(config)
    export = load_tool('export_ticket')
    assert export.main([ticket, str(tmp_path / 'slim'), '--slim', config, '--onnx',
                        '--input-size', '96', '128']) == 0
    session = onnx_session(str(tmp_path / 'slim.onnx'))
    slim, _ = load_detector(str(tmp_path / 'slim.py'), str(tmp_path / 'slim.pth'))
    part = TensorPart(slim)
    x = torch.randn(1, 3, 96, 128)
    with torch.no_grad():
        want = part(x)
    got = session.run(None, {'image': x.numpy()})
    assert len(got) == len(want) == 5 * 3  # 5 FPN levels, RPN class and box maps per level
    for g, t in zip(got, want):
        np.testing.assert_allclose(g, t.numpy(), **TOLERANCE)
    # the input size is the traced one: another size is refused by onnxruntime
    with pytest.raises(Exception):
        session.run(None, {'image': torch.randn(1, 3, 64, 64).numpy()})


def test_one_shot_random_and_torch_pruning_channel_tickets(voc_data, tmp_path):
    """The channel baselines on theta0: one-shot by filter L1 (every group keeps its best
    half), random channels of the same widths, and Torch-Pruning's MetaPruner (its widths)."""
    from colt_det.core.prunable import channel_groups
    from colt_det.runtime.checkpoints import load_state
    from colt_det.search import ColtSearch
    from colt_det.tasks.base import get_task
    common = dict(granularity='channel', channel_groups='deep', num_partitions=1,
                  target_sparsity=0.5, final_train=False)
    runs = {}
    for name, colt in (('oneshot', dict(method='oneshot', prune_scope='layer')),
                       ('torch_pruning', dict(method='torch_pruning', channel_divisor=8)),
                       ('taylor', dict(method='torch_pruning', channel_divisor=8,
                                       torch_pruning=dict(importance='taylor', batches=2)))):
        cfg = det_config(voc_data, str(tmp_path / name), **common, **colt)
        ColtSearch(cfg).run()
        runs[name] = cfg.work_dir
    cfg = det_config(voc_data, str(tmp_path / 'random'), **common, method='random',
                     random_from=osp.join(runs['oneshot'], 'tickets', 'oneshot.safetensors'))
    ColtSearch(cfg).run()
    groups = channel_groups(get_task('det').build_model(cfg), 'deep')
    theta0 = load_state(osp.join(runs['oneshot'], 'theta0.safetensors'))
    one = load_ticket(osp.join(runs['oneshot'], 'tickets', 'oneshot.safetensors')).masks
    rnd = load_ticket(osp.join(cfg.work_dir, 'tickets', 'random.safetensors')).masks
    tp_mask = load_ticket(osp.join(runs['torch_pruning'], 'tickets',
                                   'torch_pruning.safetensors')).masks
    for g in groups:
        keep = channel_keep(one, g)
        assert int(keep.sum()) == g.channels - round(0.5 * g.channels)
        score = sum(theta0[n].abs().flatten(1).mean(1) for n in g.scored)
        assert score[keep].min() >= score[~keep].max()  # the best filters stay
        assert int(channel_keep(rnd, g).sum()) == int(keep.sum())  # same widths, random
        kept = int(channel_keep(tp_mask, g).sum())
        assert kept % 8 == 0 and 0 < kept < g.channels
    assert any(not torch.equal(channel_keep(rnd, g), channel_keep(one, g)) for g in groups)
    taylor = load_ticket(osp.join(runs['taylor'], 'tickets', 'torch_pruning.safetensors'))
    assert taylor.meta['importance'] == 'taylor'
    assert taylor.meta['score_samples'] == 2 * cfg.train_dataloader.batch_size
    # the same widths as Torch-Pruning's magnitude ranking, other channels (the loss decides)
    assert all(int(channel_keep(taylor.masks, g).sum()) == int(channel_keep(tp_mask, g).sum())
               for g in groups)
    assert any(not torch.equal(channel_keep(taylor.masks, g), channel_keep(tp_mask, g))
               for g in groups)


@pytest.mark.parametrize('depth', ['deep', 'detector'])
def test_a_one_shot_channel_ticket_at_a_macs_target(voc_data, tmp_path, depth):
    """colt.oneshot.target_macs: the ratio is bisected until the mask's MACs (backbone + neck,
    or the whole detector) are the target's, and recorded."""
    from colt_det.core.prunable import channel_cost, channel_groups
    from colt_det.search import ColtSearch
    from colt_det.tasks.base import get_task
    cfg = det_config(voc_data, str(tmp_path / 'w'), granularity='channel', channel_groups=depth,
                     num_partitions=1, final_train=False, method='oneshot', prune_scope='layer',
                     channel_divisor=8, oneshot=dict(target_macs=0.5, input_size=(96, 96)))
    ColtSearch(cfg).run()
    ticket = load_ticket(osp.join(cfg.work_dir, 'tickets', 'oneshot.safetensors'))
    model = get_task('det').build_model(cfg)
    groups = channel_groups(model, depth)
    frac = channel_cost(model, depth, (96, 96), groups).fraction(ticket.masks)
    assert frac == pytest.approx(ticket.meta['macs']) and abs(frac - 0.5) < 0.05
    assert ticket.meta['target_macs'] == 0.5 and 0 < ticket.meta['ratio'] < 0.95


def test_torch_pruning_taylor_drops_a_channel_the_loss_ignores_whatever_its_norm(voc_data):
    """GroupTaylorImportance reads the gradients the model holds: a channel with large
    filters but no gradient anywhere in its group goes, the magnitude ranking keeps it; a
    model without gradients is one line naming the layer."""
    from colt_det.core.prunable import channel_groups, torch_pruning_mask
    from colt_det.methods.torch_pruning import loss_gradients
    from colt_det.tasks.base import get_task
    cfg = det_config(voc_data, '/tmp/unused')
    model = get_task('det').build_model(cfg)
    groups = channel_groups(model, 'deep')
    with pytest.raises(ValueError, match='needs the loss gradient of every layer'):
        torch_pruning_mask(model, groups, 0.5, 1, 'taylor')
    with get_task('det').scope(cfg):
        assert loss_gradients(model, cfg, 1, seed=0) == cfg.train_dataloader.batch_size
    g = next(x for x in groups if x.scored == ['backbone.layer2.0.conv1.weight'])
    params = dict(model.named_parameters())
    with torch.no_grad():
        for n in g.producers:
            params[n][0] = 5.0
            params[n].grad[0] = 0.0
        for n in g.consumers:
            params[n].grad[:, 0] = 0.0
    magnitude = torch_pruning_mask(model, groups, 0.5, 1)
    taylor = torch_pruning_mask(model, groups, 0.5, 1, 'taylor')
    assert channel_keep(magnitude, g)[0] and not channel_keep(taylor, g)[0]


def test_a_channel_search_starts_from_a_dense_pretrained_init_ticket(cls_data, tmp_path):
    """The hard benchmark's θ0 is an init ticket (a pretrained backbone): a channel search takes
    its values (BatchNorm included) and starts with every channel; a sparse ticket is refused."""
    from colt_det.core.prunable import channel_groups
    from colt_det.runtime.checkpoints import load_state
    from colt_det.search import ColtSearch, SearchError
    from colt_det.tasks.base import get_task
    dense = cls_config(cls_data, str(tmp_path / 'dense'), method='dense', num_partitions=1)
    ColtSearch(dense).run()
    ticket = osp.join(dense.work_dir, 'tickets', 'final.safetensors')
    cfg = cls_config(cls_data, str(tmp_path / 'w'), granularity='channel', method='imp',
                     num_partitions=1, prune_ratio=0.3, prune_scope='layer', max_rounds=1,
                     final_train=False, init_ticket=dict(path=ticket, mode='trained'))
    ColtSearch(cfg).run()
    theta0 = load_state(osp.join(cfg.work_dir, 'theta0.safetensors'))
    trained = load_ticket(ticket)
    groups = channel_groups(get_task('cls').build_model(cfg))
    bn = next(n for g in groups for n in g.producers if n not in g.scored and
              n.endswith('.weight'))
    assert torch.equal(theta0[bn], trained.dense[bn])  # the pretrained BatchNorm
    init = load_ticket(osp.join(cfg.work_dir, 'tickets', 'init.safetensors'))
    assert all(bool(m.all()) for m in init.masks.values())
    round1 = load_ticket(osp.join(cfg.work_dir, 'tickets', 'round_01.safetensors')).masks
    assert all(0 < int(channel_keep(round1, g).sum()) < g.channels for g in groups)
    with pytest.raises(SearchError, match='prunes weights, and a channel search starts from a '
                                          'dense init_ticket'):
        weight = cls_config(cls_data, str(tmp_path / 'weight'), max_rounds=1)
        ColtSearch(weight).run()
        ColtSearch(cls_config(cls_data, str(tmp_path / 'w2'), granularity='channel',
                              method='imp', num_partitions=1, init_ticket=dict(
                                  path=osp.join(weight.work_dir, 'tickets', 'final.safetensors'),
                                  mode='trained'))).run()


def test_a_deep_channel_detector_search_takes_a_backbone_only_init_ticket(voc_data, tmp_path,
                                                                        capsys):
    """Deep groups reach into the FPN (lateral convs), which an ImageNet backbone ticket cannot
    hold: the search takes the backbone from the ticket, the neck from its own init, and counts
    the ticket's coverage over the backbone only."""
    from colt_det.runtime.checkpoints import load_state
    from colt_det.search import ColtSearch
    from colt_det.tasks.base import get_task
    common = dict(granularity='channel', channel_groups='deep', num_partitions=1,
                  target_sparsity=0.5, final_train=False, method='oneshot', prune_scope='layer')
    model = get_task('det').build_model(det_config(voc_data, str(tmp_path / 'm'), **common))
    with torch.no_grad():
        for n, p in model.backbone.named_parameters():
            p.add_(0.25)  # values the detector's own init does not have
    state = {f'backbone.{k}': v for k, v in state_of(model.backbone).items()}
    masks = {n: torch.ones_like(v, dtype=torch.bool) for n, v in state.items() if v.dim() > 1}
    ticket = str(tmp_path / 'backbone.safetensors')
    save_ticket(ticket, masks, state, trained=state,
                dense={k: v for k, v in state.items() if k not in masks}, meta=dict(arch='test'))
    cfg = det_config(voc_data, str(tmp_path / 'w'), **common,
                     init_ticket=dict(path=ticket, mode='trained'))
    ColtSearch(cfg).run()
    theta0 = load_state(osp.join(cfg.work_dir, 'theta0.safetensors'))
    for n in ('backbone.conv1.weight', 'backbone.layer4.1.conv2.weight', 'backbone.bn1.weight'):
        assert torch.equal(theta0[n], state[n]), n
    assert 'neck.lateral_convs.0.conv.weight' not in state  # trained from the detector's init
    assert 'neck.lateral_convs.0.conv.weight' in load_ticket(
        osp.join(cfg.work_dir, 'tickets', 'oneshot.safetensors')).masks
    assert 'covers 100.0% of the prunable weights' in capsys.readouterr().out
