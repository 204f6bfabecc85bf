"""A stage's record (``result.json``): one typed reader and one writer.

:class:`~colt_det.hooks.record_hook.StageRecordHook` is the file's only writer (through
:func:`write_stage_record`); every reader (the stage's done check, the round summary, the final
training's result, the benchmarks) goes through :meth:`StageRecord.read`, so a misspelt or
missing key is an error here, not a silent ``None`` in six places.
"""
from dataclasses import dataclass, field, fields
from typing import Dict, Optional

from ..core.io import read_json, update_json


@dataclass(frozen=True)
class StageRecord:
    """What a stage did.

    Args:
        metrics (dict): the last validation's metrics (written as they come).
        test_metrics (dict): the test run's metrics (final stages with a test set).
        sparsity (float, optional): of the stage's mask, once training ended.
        iters (int, optional): training iterations run.
        train_samples (int, optional): training images processed, over all ranks.
        partition_stats (dict, optional): a partition stage's images, objects and classes.
        early_stop (dict, optional): where an early-stopped stage stopped and why.
        seconds (float, optional): the stage's training time, the runs before a kill
            included; written last, so a record holding it is the stage's commit.
    """

    metrics: Dict[str, float] = field(default_factory=dict)
    test_metrics: Dict[str, float] = field(default_factory=dict)
    sparsity: Optional[float] = None
    iters: Optional[int] = None
    train_samples: Optional[int] = None
    partition_stats: Optional[dict] = None
    early_stop: Optional[dict] = None
    seconds: Optional[float] = None

    @property
    def done(self) -> bool:
        """The stage finished: its record holds ``seconds``."""
        return self.seconds is not None

    def metric(self, key: Optional[str]) -> Optional[float]:
        """``key`` of the test metrics where there are any, else of the validation's."""
        return (self.test_metrics or self.metrics).get(key)

    @classmethod
    def read(cls, path: str) -> 'StageRecord':
        """The record at ``path`` (an empty one if the stage has written nothing yet); an
        empty, corrupt or foreign file is a ValueError naming it."""
        data = read_json(path)
        unknown = set(data) - _KEYS
        if unknown:
            raise ValueError(f'{path} holds {sorted(unknown)}, not a stage record: it is '
                             f'corrupt or not colt_det\'s; delete the stage folder to redo it')
        return cls(**data)


_KEYS = {f.name for f in fields(StageRecord)}


def write_stage_record(path: str, **values) -> None:
    """Merge ``values`` (fields of :class:`StageRecord`) into the record at ``path``,
    atomically (the record hook's only way to write it)."""
    unknown = set(values) - _KEYS
    if unknown:
        raise TypeError(f'not fields of a stage record: {sorted(unknown)}')
    update_json(path, **values)
