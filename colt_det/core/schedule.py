"""The gradual-pruning schedule of GMP (Zhu & Gupta 2017, "To prune, or not to prune").

Sparsity rises from ``initial`` at iteration ``start`` to ``final`` at ``end`` along a cubic,
fast at first and slowly at the end, with a pruning step every ``every`` iterations:

    s(t) = final + (initial - final) * (1 - (t - start) / (end - start)) ** 3

Pure arithmetic (no torch), so the schedule is tested on its own.
"""
from typing import List, Union

Iters = Union[int, float]


def resolve_iters(value: Iters, total: int, name: str, option: str = 'gmp') -> int:
    """An iteration count: an int is itself, a float in [0, 1] a fraction of ``total``
    (``colt.<option>.<name>`` in messages)."""
    key = f'colt.{option}.{name}'
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f'{key} must be an iteration (int) or a fraction of the '
                         f'training (float in [0, 1]), got {value!r}')
    if isinstance(value, float):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f'{key}={value}: a float is a fraction of the training, '
                             f'in [0, 1]; pass an int for an iteration')
        return int(round(value * total))
    if value < 0:
        raise ValueError(f'{key} must be >= 0, got {value}')
    return value


def check_window(opts: dict, option: str) -> None:
    """``start``/``end``/``every`` of a schedule by type and range: the end after the start
    (where both are of one kind), at least one iteration between steps."""
    start, end, every = (resolve_iters(opts[k], 1000, k, option) for k in ('start', 'end',
                                                                        'every'))
    if type(opts['start']) is type(opts['end']) and end <= start:
        raise ValueError(f"colt.{option}.end ({opts['end']!r}) must come after start "
                         f"({opts['start']!r}): pruning runs from start to end")
    if every < 1:
        raise ValueError(f"colt.{option}.every must be at least one iteration, got "
                         f"{opts['every']!r}: e.g. every=0.025 (of the training) or 50")


def cubic_sparsity(it: int, start: int, end: int, final: float, initial: float = 0.0) -> float:
    """The schedule's sparsity after iteration ``it`` (``initial`` before ``start``, ``final``
    from ``end`` on)."""
    if it <= start:
        return initial if it < start or end > start else final
    if it >= end:
        return final
    return final + (initial - final) * (1.0 - (it - start) / (end - start)) ** 3


def pruning_iters(start: int, end: int, every: int) -> List[int]:
    """The iterations (counted from 1, after the step) at which GMP prunes: ``start + every``,
    ``start + 2 every``, ... and always ``end``, where the schedule reaches its final sparsity."""
    if every < 1:
        raise ValueError(f'colt.gmp.every must be >= 1 iteration, got {every}')
    if end <= start:
        return [max(start, 1)]
    steps = list(range(start + every, end, every))
    return steps + [end]


def schedule_steps(window, total: int, option: str):
    """(start, end, the pruning iterations) of a ``(start, end, every)`` window over a
    training of ``total`` iterations (``colt.<option>`` in messages)."""
    start, end, every = (resolve_iters(v, total, k, option) for v, k in
                         zip(window, ('start', 'end', 'every')))
    end = min(max(end, start), total)
    return start, end, set(pruning_iters(start, end, max(1, every)))
