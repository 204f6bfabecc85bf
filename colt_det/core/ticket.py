"""Ticket files: bit-packed masks + theta0 of the surviving weights, in safetensors (no pickle).

Layout of a ticket (all tensors CPU, little-endian, safetensors):

* ``mask/<name>``    uint8, the bool mask of parameter ``<name>`` flattened and bit-packed;
* ``theta0/<name>``  the theta0 values of the *kept* weights of ``<name>``, 1-D, in flat order;
* ``trained/<name>`` (optional) the trained values of the kept weights, same layout;
* ``dense/<name>``   (optional) unmasked tensors stored whole (e.g. BN statistics, heads);
* metadata ``colt_det`` = JSON with the shapes, ``arch``, ``dataset``, ``classes``, partition
  scheme, ``num_partitions``, ``prune_ratio``, ``round``, ``sparsity``, ``seed``, toolkit version.

Files are written atomically (:mod:`colt_det.core.io`) and never overwrite an existing file
unless asked to. Loading never unpickles: a non-safetensors file is refused by its header alone.
"""
import json
import os
import struct
from dataclasses import dataclass, field
from typing import Dict, Mapping, Optional

import torch

from ..version import __version__
from .io import atomic_write_bytes
from .masks import Mask, sparsity

_META_KEY = 'colt_det'
_FORMAT = 'colt_det.ticket/1'


class TicketError(ValueError):
    """A ticket file that cannot be used; the message names the problem and the fix."""


def pack_bits(mask: torch.Tensor) -> torch.Tensor:
    """Bool tensor -> uint8 tensor of ``ceil(numel / 8)`` bytes (MSB first)."""
    flat = mask.flatten().to(torch.uint8)
    pad = (-flat.numel()) % 8
    if pad:
        flat = torch.cat([flat, flat.new_zeros(pad)])
    weights = torch.tensor([128, 64, 32, 16, 8, 4, 2, 1], dtype=torch.uint8)
    return (flat.view(-1, 8) * weights).sum(1, dtype=torch.uint8)


def unpack_bits(packed: torch.Tensor, shape) -> torch.Tensor:
    numel = 1
    for s in shape:
        numel *= int(s)
    shifts = torch.arange(7, -1, -1, dtype=torch.uint8)
    bits = (packed.view(-1, 1) >> shifts) & 1
    flat = bits.flatten()
    if flat.numel() < numel:
        raise TicketError(f'packed mask too short for shape {tuple(shape)}: the ticket is corrupt')
    return flat[:numel].bool().view(*shape)


@dataclass
class Ticket:
    """A lottery ticket: masks, theta0 (and optionally trained weights) of the masked tensors."""

    masks: Mask
    theta0: Dict[str, torch.Tensor]
    trained: Optional[Dict[str, torch.Tensor]] = None
    dense: Dict[str, torch.Tensor] = field(default_factory=dict)
    meta: dict = field(default_factory=dict)

    @property
    def sparsity(self) -> float:
        return sparsity(self.masks).overall


def save_ticket(path: str, masks: Mask, theta0: Optional[Mapping[str, torch.Tensor]],
                trained: Optional[Mapping[str, torch.Tensor]] = None,
                dense: Optional[Mapping[str, torch.Tensor]] = None,
                meta: Optional[dict] = None, overwrite: bool = False) -> None:
    """Write a ticket file atomically.

    Args:
        path (str): output ``.safetensors`` path; an existing file is an error unless
            ``overwrite``.
        masks (Mask): masks keyed by parameter name.
        theta0 (Mapping[str, Tensor], optional): full theta0 tensors for (at least) every masked
            name; None writes a mask-only file.
        trained (Mapping[str, Tensor], optional): trained tensors for every masked name.
        dense (Mapping[str, Tensor], optional): extra tensors stored whole.
        meta (dict, optional): JSON-serialisable metadata.
    """
    from safetensors.torch import save

    tensors = {}
    shapes = {}
    for name, m in masks.items():
        m = m.cpu().bool()
        shapes[name] = list(m.shape)
        tensors[f'mask/{name}'] = pack_bits(m)
        if theta0 is not None:
            if name not in theta0:
                raise ValueError(f'theta0 has no tensor for masked parameter {name!r}')
            tensors[f'theta0/{name}'] = _kept(theta0[name], m)
        if trained is not None:
            tensors[f'trained/{name}'] = _kept(trained[name], m)
    for name, t in (dense or {}).items():
        tensors[f'dense/{name}'] = t.detach().cpu().contiguous()
    info = dict(meta or {})
    info.update(format=_FORMAT, version=__version__, shapes=shapes,
                sparsity=sparsity(masks).overall, has_theta0=theta0 is not None,
                has_trained=trained is not None)
    data = save(tensors, metadata={_META_KEY: json.dumps(info)})
    atomic_write_bytes(path, data, overwrite=overwrite)


def check_safetensors_header(path: str) -> None:
    """Refuse anything that is not a safetensors file, by reading its header bytes only."""
    if os.path.isdir(path):
        raise TicketError(f'ticket {path} is a folder, not a file: move it away (a resumed '
                          f'search then rewrites the ticket from its stages)')
    if not os.path.isfile(path):
        raise TicketError(f'ticket {path} does not exist: pass the path of a .safetensors ticket')
    size = os.path.getsize(path)
    with open(path, 'rb') as f:
        head = f.read(9)
    if len(head) < 9:
        raise TicketError(f'ticket {path} is empty or truncated ({size} bytes): re-export it')
    (header_len, ) = struct.unpack('<Q', head[:8])
    if head[8:9] == b'{' and header_len + 8 <= size:
        return
    if head[:2] == b'PK' or head[:1] == b'\x80':
        raise TicketError(f'{path} is a pickle/torch.save file, not a safetensors ticket; it was '
                          f'not loaded (pickle can run code): export a .safetensors ticket from '
                          f'a trusted source')
    raise TicketError(f'{path} is not a valid safetensors ticket (bad or truncated header): '
                      f're-export or re-download it')


def load_ticket(path: str) -> Ticket:
    """Read a ticket written by :func:`save_ticket`; full-shape tensors, zeros where pruned."""
    meta, tensors = _read_ticket_file(path, with_tensors=True)

    def tensor(key: str, dtype=None) -> torch.Tensor:
        if key not in tensors:
            raise TicketError(f'{path} lacks the tensor {key!r} its metadata lists: the ticket '
                              f'is corrupt, re-export it')
        if dtype is not None and tensors[key].dtype != dtype:
            raise TicketError(f'{path}: {key!r} is {tensors[key].dtype}, not a packed '
                              f'{dtype} mask: the ticket is corrupt, re-export it')
        return tensors[key]

    masks, theta0, trained, dense = {}, {}, {}, {}
    for name, shape in meta['shapes'].items():
        packed = tensor(f'mask/{name}', torch.uint8)
        numel = 1
        for d in shape:
            numel *= d
        if packed.numel() * 8 < numel:
            raise TicketError(f'{path}: the mask of {name} holds {packed.numel() * 8} bits, its '
                              f'metadata says shape {shape}: the ticket is corrupt, re-export it')
        m = unpack_bits(packed, shape)
        masks[name] = m
        if meta.get('has_theta0', True):
            theta0[name] = _scatter(tensor(f'theta0/{name}'), m, name, path)
        if meta.get('has_trained'):
            trained[name] = _scatter(tensor(f'trained/{name}'), m, name, path)
    for k, t in tensors.items():
        if k.startswith('dense/'):
            dense[k[len('dense/'):]] = t
    return Ticket(masks=masks, theta0=theta0, trained=trained or None, dense=dense, meta=meta)


def read_ticket_meta(path: str) -> dict:
    """A ticket's JSON metadata (incl. ``sparsity``) without reading its tensors."""
    return _read_ticket_file(path, with_tensors=False)[0]


def _read_ticket_file(path: str, with_tensors: bool):
    """(metadata, raw tensors) of a ticket file; the header is checked before anything is read."""
    from safetensors import SafetensorError, safe_open

    check_safetensors_header(path)
    try:
        with safe_open(path, framework='pt') as f:
            raw = (f.metadata() or {}).get(_META_KEY)
            if raw is None:
                raise TicketError(f'{path} is a safetensors file but not a colt_det ticket '
                                  f'(no {_META_KEY!r} metadata): pass a ticket from a COLT run')
            tensors = {k: f.get_tensor(k) for k in f.keys()} if with_tensors else {}
    except SafetensorError as e:
        raise TicketError(f'{path} is corrupt or truncated ({e}): re-export it') from e
    try:
        meta = json.loads(raw)
    except ValueError:
        raise TicketError(f'{path}: its {_META_KEY!r} metadata is not JSON: the ticket is '
                          f'corrupt, re-export it') from None
    shapes = meta.get('shapes') if isinstance(meta, dict) else None
    if not isinstance(shapes, dict) or not all(
            isinstance(s, list) and all(isinstance(d, int) and d >= 0 for d in s)
            for s in shapes.values()):
        raise TicketError(f'{path}: its metadata has no valid "shapes" (name -> list of sizes): '
                          f'the ticket is corrupt, re-export it')
    return meta, tensors


def _scatter(values: torch.Tensor, mask: torch.Tensor, name: str, path: str) -> torch.Tensor:
    kept = int(mask.sum())
    if values.numel() != kept:
        raise TicketError(f'{path}: {name} stores {values.numel()} values but its mask keeps '
                          f'{kept}: the ticket is corrupt, re-export it')
    out = torch.zeros(mask.numel(), dtype=values.dtype)
    out[mask.flatten()] = values
    return out.view(mask.shape)


def _kept(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return values.detach().cpu().flatten()[mask.flatten()].contiguous()


def save_mask(path: str, mask: Mask, meta: Optional[dict] = None,
              overwrite: bool = False) -> None:
    """A mask-only file (a partition's mask between pruning and intersection)."""
    save_ticket(path, mask, theta0=None, meta=dict(meta or {}, kind='mask'), overwrite=overwrite)


def load_mask(path: str) -> Mask:
    return load_ticket(path).masks
