"""Splitting a dataset's classes into N disjoint groups (the COLT partitions)."""
import random
from typing import List, Optional, Sequence, Union

ClassGroups = List[List[str]]


def partition_classes(classes: Sequence[str], num_partitions: int,
                      scheme: str = 'contiguous', seed: int = 0,
                      groups: Optional[Sequence[Sequence[Union[str, int]]]] = None
                      ) -> ClassGroups:
    """Split ``classes`` into ``num_partitions`` disjoint, non-empty groups.

    Args:
        classes (Sequence[str]): all class names, in label order.
        num_partitions (int): N >= 1; N == 1 gives IMP (one group with every class).
        scheme (str): ``'contiguous'`` (paper default: first ceil(C/N) classes, next, ...),
            ``'random'`` (seeded shuffle, then contiguous) or ``'explicit'`` (use ``groups``).
        seed (int): seed of the ``'random'`` scheme.
        groups: explicit class names or indices per partition (``scheme='explicit'``).

    Returns:
        List[List[str]]: class names per partition, each in the original label order.
    """
    classes = list(classes)
    if len(set(classes)) != len(classes):
        raise ValueError('class names must be unique')
    if scheme == 'explicit':
        if groups is None:
            raise ValueError("partition scheme 'explicit' needs groups=[[...], [...]]")
        bad = [c for g in groups for c in g
               if isinstance(c, int) and not 0 <= c < len(classes)]
        if bad:
            raise ValueError(f'partition groups use class index(es) {bad} outside '
                             f'0..{len(classes) - 1}: there are {len(classes)} classes')
        out = [[classes[c] if isinstance(c, int) else c for c in g] for g in groups]
        unknown = sorted({c for g in out for c in g} - set(classes))
        if unknown:
            raise ValueError(f'partition groups name unknown classes {unknown}: '
                             f'use names from {classes}')
        flat = [c for g in out for c in g]
        dup = sorted({c for c in flat if flat.count(c) > 1})
        missing = [c for c in classes if c not in flat]
        if dup or missing:
            raise ValueError(f'every class must be in exactly one partition: duplicated {dup}, '
                             f'missing {missing}')
        if any(not g for g in out):
            raise ValueError('a partition group is empty: give every partition at least one class')
        if num_partitions != len(out):
            raise ValueError(f'num_partitions={num_partitions} but {len(out)} groups were given')
        order = {c: i for i, c in enumerate(classes)}
        return [sorted(g, key=order.__getitem__) for g in out]
    if not isinstance(num_partitions, int) or num_partitions < 1:
        raise ValueError(f'num_partitions must be an integer >= 1, got {num_partitions!r}')
    if num_partitions > len(classes):
        raise ValueError(f'num_partitions={num_partitions} > number of classes ({len(classes)}): '
                         f'use at most {len(classes)} partitions')
    if scheme == 'contiguous':
        ordered = classes
    elif scheme == 'random':
        ordered = classes[:]
        random.Random(seed).shuffle(ordered)
    else:
        raise ValueError(f"unknown partition scheme {scheme!r}: use 'contiguous', 'random' "
                         f"or 'explicit'")
    # as even as possible: the first (C mod N) groups get one extra class
    base, extra = divmod(len(ordered), num_partitions)
    out, start = [], 0
    for i in range(num_partitions):
        size = base + (1 if i < extra else 0)
        out.append(ordered[start:start + size])
        start += size
    order = {c: i for i, c in enumerate(classes)}
    return [sorted(g, key=order.__getitem__) for g in out]
