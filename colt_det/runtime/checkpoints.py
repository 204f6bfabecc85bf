"""Model states (e.g. theta0) as safetensors files: no pickle, written atomically."""
from typing import Dict

import torch
from torch import nn

from ..core import atomic_write_bytes, load_ticket
from ..core.apply import state_of, unwrap
from ..core.ticket import check_safetensors_header


def save_state(path: str, model_or_state, overwrite: bool = False) -> None:
    """Write a model's (unwrapped) state_dict, or a plain state dict, to ``path``."""
    from safetensors.torch import save

    state = (unwrap(model_or_state).state_dict()
             if isinstance(model_or_state, nn.Module) else model_or_state)
    # clone: safetensors refuses tensors that share storage
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in state.items()}
    atomic_write_bytes(path, save(tensors), overwrite=overwrite)


def load_state(path: str) -> Dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    check_safetensors_header(path)
    return load_file(path)


def save_masked_checkpoint(runner, path: str, overwrite: bool = False) -> None:
    """An MMEngine-style checkpoint (``state_dict`` + ``meta``) of the runner's masked model.

    MMDetection's ``tools/test.py`` and :func:`mmengine.runner.load_checkpoint` read it. Written
    to a temp file and renamed, so a crash never leaves half a checkpoint.
    """
    from mmengine import __version__ as mmengine_version

    model = unwrap(runner.model)
    meta = dict(mmengine_version=mmengine_version, colt_masked=True,
                dataset_meta=dict(getattr(model, 'dataset_meta', None) or
                                  _dataset_meta(runner)))
    atomic_torch_save(dict(meta=meta, state_dict=state_of(model)), path, overwrite=overwrite)


def atomic_torch_save(obj: dict, path: str, overwrite: bool = False) -> None:
    """``torch.save`` of tensors/plain data via temp file + rename."""
    import io
    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write_bytes(path, buf.getvalue(), overwrite=overwrite)


def _dataset_meta(runner) -> dict:
    try:
        return dict(runner.train_dataloader.dataset.metainfo)
    except Exception:  # no train dataloader built (e.g. test-only runner)
        return {}


def trained_state(ticket, ticket_path: str) -> Dict[str, torch.Tensor]:
    """The whole trained model a final ticket holds: its trained values + the dense rest."""
    if not ticket.trained:
        raise ValueError(f'{ticket_path} holds no trained values (a round ticket is theta0 '
                         f'+ mask): use tickets/final.safetensors of a finished search')
    state = dict(ticket.dense)
    state.update(ticket.trained)
    return state


def checkpoint_from_ticket(ticket_path: str, out_path: str, overwrite: bool = False) -> str:
    """A mask-applied MMEngine checkpoint from a final ticket (trained values + dense rest)."""
    ticket = load_ticket(ticket_path)
    state = trained_state(ticket, ticket_path)
    atomic_torch_save(dict(state_dict=state, meta=dict(colt_masked=True, source=ticket_path,
                                                      dataset_meta=dict(classes=tuple(
                                                          ticket.meta.get('classes', ()))))),
                      out_path, overwrite=overwrite)
    return out_path
