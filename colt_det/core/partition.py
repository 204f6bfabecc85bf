"""Splitting a dataset's classes into N disjoint groups (the COLT partitions).

A partition scheme is a function ``(classes, num_partitions, seed, groups) -> list of class
lists`` registered under the name ``colt.partition_scheme`` uses::

    @register_partition_scheme('by_frequency')
    def by_frequency(classes, num_partitions, seed, groups):
        ...

:func:`partition_classes` checks whatever a scheme returns (disjoint, every class once, no
empty group), so a new scheme is one function.
"""
import random
from typing import List, Optional, Sequence, Union

from .table import Table

ClassGroups = List[List[str]]
PARTITION_SCHEMES = Table('partition_scheme')
register_partition_scheme = PARTITION_SCHEMES.register  # decorator of a scheme function


def _even(ordered: List[str], num_partitions: int) -> ClassGroups:
    """As even as possible: the first (C mod N) groups get one extra class."""
    base, extra = divmod(len(ordered), num_partitions)
    out, start = [], 0
    for i in range(num_partitions):
        size = base + (1 if i < extra else 0)
        out.append(ordered[start:start + size])
        start += size
    return out


@register_partition_scheme('contiguous')
def contiguous(classes: List[str], num_partitions: int, seed: int, groups) -> ClassGroups:
    """The paper's default: the first ceil(C/N) classes, the next, ..."""
    return _even(classes, num_partitions)


@register_partition_scheme('random')
def shuffled(classes: List[str], num_partitions: int, seed: int, groups) -> ClassGroups:
    """A seeded shuffle, then contiguous groups."""
    ordered = classes[:]
    random.Random(seed).shuffle(ordered)
    return _even(ordered, num_partitions)


@register_partition_scheme('explicit')
def explicit(classes: List[str], num_partitions: int, seed: int, groups) -> ClassGroups:
    """The class names or indices of ``colt.partition_groups``."""
    if groups is None:
        raise ValueError("partition scheme 'explicit' needs groups=[[...], [...]]")
    bad = [c for g in groups for c in g if isinstance(c, int) and not 0 <= c < len(classes)]
    if bad:
        raise ValueError(f'partition groups use class index(es) {bad} outside '
                         f'0..{len(classes) - 1}: there are {len(classes)} classes')
    out = [[classes[c] if isinstance(c, int) else c for c in g] for g in groups]
    unknown = sorted({c for g in out for c in g} - set(classes))
    if unknown:
        raise ValueError(f'partition groups name unknown classes {unknown}: '
                         f'use names from {classes}')
    if num_partitions != len(out):
        raise ValueError(f'num_partitions={num_partitions} but {len(out)} groups were given')
    return out


def partition_classes(classes: Sequence[str], num_partitions: int,
                      scheme: str = 'contiguous', seed: int = 0,
                      groups: Optional[Sequence[Sequence[Union[str, int]]]] = None
                      ) -> ClassGroups:
    """Split ``classes`` into ``num_partitions`` disjoint, non-empty groups.

    Args:
        classes (Sequence[str]): all class names, in label order.
        num_partitions (int): N >= 1; N == 1 gives IMP (one group with every class).
        scheme (str): a registered scheme: ``'contiguous'`` (paper default), ``'random'``
            (seeded shuffle, then contiguous) or ``'explicit'`` (use ``groups``).
        seed (int): seed of the ``'random'`` scheme.
        groups: explicit class names or indices per partition (``scheme='explicit'``).

    Returns:
        List[List[str]]: class names per partition, each in the original label order.
    """
    classes = list(classes)
    if len(set(classes)) != len(classes):
        raise ValueError('class names must be unique')
    PARTITION_SCHEMES.get_entry(scheme)  # a ValueError names the schemes
    if scheme != 'explicit':
        if not isinstance(num_partitions, int) or num_partitions < 1:
            raise ValueError(f'num_partitions must be an integer >= 1, got {num_partitions!r}')
        if num_partitions > len(classes):
            raise ValueError(f'num_partitions={num_partitions} > number of classes '
                             f'({len(classes)}): use at most {len(classes)} partitions')
    out = PARTITION_SCHEMES[scheme](classes, num_partitions, seed, groups)
    flat = [c for g in out for c in g]
    dup = sorted({c for c in flat if flat.count(c) > 1})
    missing = [c for c in classes if c not in flat]
    if dup or missing:
        raise ValueError(f'every class must be in exactly one partition: duplicated {dup}, '
                         f'missing {missing}')
    if any(not g for g in out):
        raise ValueError('a partition group is empty: give every partition at least one class')
    order = {c: i for i, c in enumerate(classes)}
    return [sorted(g, key=order.__getitem__) for g in out]
