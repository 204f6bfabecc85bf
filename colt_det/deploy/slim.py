"""Channel tickets as physically smaller models: narrower backbone layers, same outputs.

A channel ticket (``colt.granularity='channel'``) zeroes whole inner channels of the backbone.
:func:`export_slim` removes them: the producing convs lose output channels, their BatchNorms
lose features, the consuming convs lose input channels. The result is an ordinary MMEngine
config + checkpoint whose backbone is ``colt_det.SlimBackbone`` (the original backbone, built
as configured, then narrowed to the recorded shapes), which MMDetection's and colt_det's tools
load like any other model. Outputs equal the masked model's up to float rounding.
"""
import copy
from typing import Dict, List, Optional, Tuple

import torch
from mmengine.config import Config
from mmengine.registry import MODELS as ROOT_MODELS
from torch import nn

from ..core import TicketError, atomic_write_bytes, load_ticket
from ..core.channels import ChannelGroup, channel_keep, channel_param_names
from ..registry import MODELS
from ..runtime.checkpoints import atomic_torch_save, trained_state


@MODELS.register_module(name='SlimBackbone')
def build_slim_backbone(backbone: dict, shapes: Dict[str, List[int]]) -> nn.Module:
    """``backbone`` built as configured, then every conv/BN in ``shapes`` narrowed.

    Args:
        backbone (dict): the original backbone config (built in the current scope).
        shapes (dict): ``{'<module>.weight': shape}`` of the narrowed convs and BatchNorms,
            names relative to the backbone.

    Returns:
        nn.Module: the backbone with the same parameter names and narrower layers (the
        weights are loaded from the slim checkpoint afterwards).
    """
    return build_slim_module(backbone, shapes)


@MODELS.register_module(name='SlimModule')
def build_slim_module(module: dict, shapes: Dict[str, List[int]], **given) -> nn.Module:
    """Any module (a neck whose lateral convs read a narrower backbone, a narrower head)
    built as configured, then every conv/BN/linear layer in ``shapes`` (names relative to it)
    narrowed.

    Args:
        module (dict): the module's own config.
        shapes (dict): ``{'<layer>.weight': shape}`` of its narrowed layers.
        **given: what the parent adds to the module's config when it builds it (a two-stage
            detector gives its heads ``train_cfg``, ``test_cfg``, ``num_classes``).
    """
    module = copy.deepcopy(module)
    module.update(given)
    return narrow_(ROOT_MODELS.build(module), shapes)


def narrow_(module: nn.Module, shapes: Dict[str, List[int]]) -> nn.Module:
    """Replace every conv/BN/linear layer of ``module`` named in ``shapes``
    (``'<name>.weight'``) by a narrower one (fresh weights: load the slim state afterwards);
    returns ``module``."""
    for name, child in list(module.named_modules()):
        shape = shapes.get(f'{name}.weight')
        if shape is not None:
            parent_name, _, attr = name.rpartition('.')
            parent = module.get_submodule(parent_name) if parent_name else module
            setattr(parent, attr, _narrowed(child, shape))
    return module


def slim_copy(model: nn.Module, mask: Dict[str, torch.Tensor],
              groups: List[ChannelGroup]) -> nn.Module:
    """A physically narrower copy of ``model`` under channel ``mask`` (same outputs as the
    masked model), in memory: for measuring FLOPs and latency without an export."""
    from ..core.apply import state_of, unwrap
    out = copy.deepcopy(unwrap(model))
    state, shapes = slim_state(state_of(out), mask, groups)
    narrow_(out, shapes)
    out.load_state_dict(state, strict=True)
    return out


def _narrowed(layer: nn.Module, shape: List[int]) -> nn.Module:
    if isinstance(layer, nn.Conv2d):
        return nn.Conv2d(shape[1] * layer.groups, shape[0], layer.kernel_size, layer.stride,
                         layer.padding, layer.dilation, layer.groups, layer.bias is not None,
                         layer.padding_mode)
    if isinstance(layer, nn.Linear):
        return nn.Linear(shape[1], shape[0], layer.bias is not None)
    if isinstance(layer, nn.modules.batchnorm._BatchNorm):
        return type(layer)(shape[0], layer.eps, layer.momentum, layer.affine,
                           layer.track_running_stats)
    raise TypeError(f'cannot narrow a {type(layer).__name__}')


def slim_state(state: Dict[str, torch.Tensor], mask: Dict[str, torch.Tensor],
               groups: List[ChannelGroup]) -> Tuple[Dict[str, torch.Tensor], Dict[str, list]]:
    """The state without the channels ``mask`` prunes, and the new shapes of what changed."""
    out = dict(state)
    for g in groups:
        idx = torch.nonzero(channel_keep(mask, g)).flatten()
        # a conv can be one group's consumer and another's producer: narrow ``out`` in turn
        for name in g.producers + g.buffers:
            out[name] = out[name].index_select(0, idx).clone()
        for name in g.consumers:
            out[name] = out[name].index_select(1, idx).clone()
    shapes = {n: list(v.shape) for n, v in out.items()
              if n.endswith('.weight') and v.shape != state[n].shape}
    return out, shapes


def slim_config(cfg: Config, shapes: Dict[str, list]) -> Config:
    """``cfg`` with its backbone wrapped in ``colt_det.SlimBackbone`` and, where their layers
    changed too, its neck (deep channel tickets) and heads (whole-detector ones) in
    ``colt_det.SlimModule`` (no ``colt`` block)."""
    out = copy.deepcopy(cfg)
    out.pop('colt', None)

    def rel(part: str) -> dict:
        return {n[len(part) + 1:]: s for n, s in shapes.items() if n.startswith(part + '.')}
    out.model.backbone = dict(type='colt_det.SlimBackbone', backbone=out.model.backbone,
                              shapes=rel('backbone'))
    for part in ('neck', 'rpn_head', 'roi_head', 'bbox_head'):
        if rel(part):
            out.model[part] = dict(type='colt_det.SlimModule', module=out.model[part],
                                   shapes=rel(part))
    return out


def export_slim(cfg: Config, ticket_path: str, out_stem: str, groups: List[ChannelGroup],
                overwrite: bool = False,
                model_shapes: Optional[Dict[str, tuple]] = None) -> Tuple[str, str]:
    """Write ``<out_stem>.py`` (config) and ``<out_stem>.pth`` (checkpoint) of the slim model.

    Args:
        cfg (Config): the config the ticket was searched with.
        ticket_path (str): a final channel ticket (trained values + dense rest).
        out_stem (str): output path without extension.
        groups (List[ChannelGroup]): the model's channel groups.
        overwrite (bool): replace existing outputs.
        model_shapes (dict, optional): ``name -> shape`` of the config's model state: a ticket
            of another model (other widths) is refused instead of exported wrongly.

    Returns:
        (config path, checkpoint path)
    """
    ticket = load_ticket(ticket_path)
    same = sorted(ticket.masks) == sorted(channel_param_names(groups)) and all(
        ticket.masks[g.scored[0]].shape[0] == g.channels for g in groups)
    state = trained_state(ticket, ticket_path) if same else {}
    if model_shapes is not None and any(tuple(model_shapes.get(n, ())) != tuple(t.shape)
                                        for n, t in state.items()):
        same = False
    if not same:
        if ticket.meta.get('granularity') == 'channel':
            raise TicketError(f"{ticket_path} is a channel ticket of another model (arch "
                              f"{ticket.meta.get('arch', '?')}) than this config's: pass the "
                              f"config it was searched with")
        raise TicketError(f"{ticket_path} is not a channel ticket (search with "
                          f"colt.granularity='channel'): only channel tickets can be slimmed")
    new_state, shapes = slim_state(state, ticket.masks, groups)
    config_path, ckpt_path = f'{out_stem}.py', f'{out_stem}.pth'
    atomic_torch_save(dict(state_dict=new_state, meta=dict(
        colt_slim=True, source=ticket_path,
        dataset_meta=dict(classes=tuple(ticket.meta.get('classes', ()))))), ckpt_path,
        overwrite=overwrite)
    text = slim_config(cfg, shapes).pretty_text
    atomic_write_bytes(config_path, text.encode(), overwrite=overwrite)
    return config_path, ckpt_path

