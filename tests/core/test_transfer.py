"""Classification tickets -> detector backbones: key mapping, coverage, mismatch errors."""
import pytest
import torch
from mmengine.registry import init_default_scope

from colt_det.core import (
    PrunableSpec,
    TicketError,
    load_ticket,
    magnitude_prune,
    ones_mask,
    save_ticket,
    state_of,
)
from colt_det.core.transfer import map_ticket
from colt_det.tasks.cls.models import ImageClassifier


def classifier_ticket(tmp_path, depth=18):
    torch.manual_seed(0)
    model = ImageClassifier(backbone=dict(type='TVResNet', depth=depth), num_classes=10)
    names = PrunableSpec(include=['backbone.*']).select(model)
    params = dict(model.named_parameters())
    mask = magnitude_prune({n: params[n] for n in names}, ones_mask(model, names), 0.5)
    path = str(tmp_path / f'r{depth}.safetensors')
    save_ticket(path, mask, state_of(model), trained=state_of(model),
                meta=dict(arch=f'TVResNet{depth}'))
    return load_ticket(path)


def mmdet_resnet_shapes(depth):
    init_default_scope('mmdet')
    from mmdet.registry import MODELS
    backbone = MODELS.build(dict(type='ResNet', depth=depth, init_cfg=None))
    return {f'backbone.{k}': v.shape for k, v in backbone.named_parameters()}


def test_classifier_ticket_maps_onto_mmdet_resnet(tmp_path):
    ticket = classifier_ticket(tmp_path, 18)
    shapes = mmdet_resnet_shapes(18)
    mapped, report = map_ticket(ticket, shapes)
    # every conv of the mmdet backbone is covered, names unchanged, classifier head dropped
    convs = [n for n, s in shapes.items() if len(s) == 4]
    assert sorted(mapped.masks) == sorted(convs)
    assert report.dropped == [] and len(report.mapped) == len(convs)
    assert 0.95 < report.coverage <= 1.0  # BN affine weights are the uncovered rest
    for n in convs:
        assert torch.equal(mapped.theta0[n], ticket.theta0[n])


def test_torchvision_names_need_a_prefix_map(tmp_path):
    ticket = classifier_ticket(tmp_path, 18)
    stripped = type(ticket)(masks={k[len('backbone.'):]: v for k, v in ticket.masks.items()},
                            theta0={k[len('backbone.'):]: v for k, v in ticket.theta0.items()},
                            meta=ticket.meta)
    shapes = mmdet_resnet_shapes(18)
    with pytest.raises(TicketError, match='no ticket layer matches the key map'):
        map_ticket(stripped, shapes)
    mapped, report = map_ticket(stripped, shapes, key_map={'': 'backbone.'})
    assert report.coverage > 0.95 and 'backbone.layer4.1.conv2.weight' in mapped.masks


def test_wrong_depth_lists_what_differs(tmp_path):
    ticket = classifier_ticket(tmp_path, 18)
    with pytest.raises(TicketError) as err:
        map_ticket(ticket, mmdet_resnet_shapes(50))
    msg = str(err.value)
    assert 'arch=TVResNet18' in msg and 'shape mismatch' in msg
    assert 'not in the ticket' in msg and 'layer1.0.conv3.weight' in msg
    assert 'same architecture and depth' in msg
