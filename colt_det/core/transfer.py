"""Moving a ticket between models: explicit key mapping, shape checks, coverage.

A classification ticket of ``ImageClassifier(backbone=TVResNet(50))`` has keys
``backbone.layer1.0.conv1.weight``; mmdet's Faster R-CNN has the same names under ``backbone.``.
A plain torchvision ResNet state dict has no prefix (``layer1.0.conv1.weight``) and a ``fc``
head. :func:`map_ticket` renames by longest matching prefix and drops what is not mapped.
"""
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional

import torch

from .masks import mismatch_parts
from .ticket import Ticket, TicketError

# classifier names -> detector names; anything not listed (e.g. ``head.*``, ``fc.*``) is dropped
DEFAULT_KEY_MAP = {'backbone.': 'backbone.'}


@dataclass
class TransferReport:
    """What a mapped ticket covers in the target model."""

    mapped: Dict[str, str] = field(default_factory=dict)  # source name -> target name
    dropped: List[str] = field(default_factory=list)  # source names with no mapping
    covered: int = 0  # target scalars covered by the ticket's masks
    total: int = 0  # scalars of the target parameters under ``target_prefix``
    target_prefix: str = 'backbone.'

    @property
    def coverage(self) -> float:
        return self.covered / self.total if self.total else 0.0

    def to_dict(self) -> dict:
        return dict(mapped=len(self.mapped), dropped=self.dropped[:20], covered=self.covered,
                    total=self.total, coverage=self.coverage, target_prefix=self.target_prefix)


def _rename(name: str, key_map: Mapping[str, str]) -> Optional[str]:
    best = None
    for src in key_map:
        if name.startswith(src) and (best is None or len(src) > len(best)):
            best = src
    return None if best is None else key_map[best] + name[len(best):]


def map_ticket(ticket: Ticket, target_shapes: Mapping[str, torch.Size],
               key_map: Optional[Mapping[str, str]] = None,
               target_prefix: str = 'backbone.') -> (Ticket, TransferReport):
    """Rename a ticket's tensors for another model and check them against its shapes.

    Args:
        ticket (Ticket): the source ticket.
        target_shapes (Mapping[str, Size]): ``name -> shape`` of the target's parameters.
        key_map (Mapping[str, str]): source prefix -> target prefix (longest prefix wins);
            defaults to :data:`DEFAULT_KEY_MAP`.
        target_prefix (str): the part of the target the coverage is reported for.

    Returns:
        (Ticket, TransferReport): the renamed ticket and what it covers.

    Raises:
        TicketError: listing every mapped tensor missing from the target or of the wrong shape
            (e.g. a ResNet-18 ticket for a ResNet-50 detector).
    """
    key_map = dict(DEFAULT_KEY_MAP if key_map is None else key_map)
    report = TransferReport(target_prefix=target_prefix)
    masks, theta0, trained = {}, {}, {}
    for name, m in ticket.masks.items():
        new = _rename(name, key_map)
        if new is None:
            report.dropped.append(name)
            continue
        report.mapped[name] = new
        masks[new] = m
        theta0[new] = ticket.theta0[name] if ticket.theta0 else None
        if ticket.trained:
            trained[new] = ticket.trained[name]
    dense = {}
    for name, t in ticket.dense.items():
        new = _rename(name, key_map)
        if new is not None:
            dense[new] = t
    if not masks:
        raise TicketError(f'no ticket layer matches the key map {key_map}: ticket layers look '
                          f'like {list(ticket.masks)[:3]}; set key_map to rename them')
    parts = mismatch_parts({n: m.shape for n, m in masks.items()}, target_shapes, 'ticket',
                           'model', limit=4)
    if parts:
        uncovered = [n for n in target_shapes if n.startswith(target_prefix) and n not in masks
                     and n.endswith('.weight') and len(target_shapes[n]) > 1]
        if uncovered:
            parts.append(f'{len(uncovered)} model conv layer(s) not in the ticket, e.g. '
                         f'{uncovered[:4]}')
        raise TicketError(f"ticket (arch={ticket.meta.get('arch', '?')}) does not fit the "
                          f"model: " + '; '.join(parts) +
                          ': use a ticket of the same architecture and depth')
    report.total = sum(int(torch.Size(s).numel()) for n, s in target_shapes.items()
                       if n.startswith(target_prefix))
    report.covered = sum(m.numel() for n, m in masks.items() if n.startswith(target_prefix))
    out = Ticket(masks=masks, theta0=theta0 if ticket.theta0 else {},
                 trained=trained or None, dense=dense, meta=dict(ticket.meta))
    return out, report
