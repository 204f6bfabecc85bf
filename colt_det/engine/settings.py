"""The ``colt = dict(...)`` block of a config, parsed and checked once."""
from dataclasses import asdict, dataclass, field
from typing import Optional

from mmengine.config import ConfigDict

from ..core import PrunableSpec
from .methods import METHODS


@dataclass
class ColtSettings:
    """The ``colt = dict(...)`` block of a config (documented in README.md).

    ``spec`` (the parsed ``prunable`` option) is set by :meth:`validate`; it is not a field, so
    the settings record (``colt_settings.json``) holds exactly the options.
    """

    method: str = 'colt'  # a name in colt_det.engine.methods.METHODS
    task: str = 'cls'  # a name in colt_det.registry.TASKS ('cls' | 'det')
    num_partitions: int = 2
    partition_scheme: str = 'contiguous'  # 'contiguous' | 'random' | 'explicit'
    partition_groups: Optional[list] = None
    prune_ratio: float = 0.2
    prune_scope: str = 'global'  # 'global' | 'layer'
    # 'weight': unstructured; 'channel': whole inner channels of model.backbone (deployable)
    granularity: str = 'weight'
    channel_score: str = 'l1'  # channels: 'l1' (filter mean |w|) | 'l1_bn' (x BN |gamma|)
    # weights: 'magnitude' (|w|, the paper) | 'movement' (|w - theta0|: how far training moved it)
    weight_score: str = 'magnitude'
    target_sparsity: float = 0.8
    max_rounds: int = 30
    min_keep: Optional[int] = None  # keep a weight kept by >= k partitions (None: all N)
    prunable: dict = field(default_factory=dict)
    seed: int = 0
    rewind_iter: int = 0  # > 0: late rewinding to the weights after this many dense iterations
    final_train: bool = True
    final_train_cfg: Optional[dict] = None
    random_from: Optional[str] = None  # method='random': ticket whose per-layer sparsity to copy
    mask_from: Optional[str] = None  # method='mask': ticket whose mask to train from this theta0
    # a ticket (e.g. from ImageNet) as the sparse initialisation:
    # dict(path=..., mode='rewind'|'trained', key_map={'backbone.': 'backbone.'})
    init_ticket: Optional[dict] = None
    keep_stage_checkpoints: bool = False
    metric_key: Optional[str] = None
    partition_policy: str = 'ignore'  # detection: 'ignore' | 'drop' | 'exclusive'
    # 'full': every partition stage runs train_cfg on all its images; 'equal': a partition epoch
    # draws 1/N of the full training set, so a COLT round costs one IMP round in images
    partition_budget: str = 'full'
    progress_interval: int = 50  # iterations between progress lines (0: off)

    @classmethod
    def from_cfg(cls, cfg) -> 'ColtSettings':
        cfg = dict(cfg or {})
        unknown = set(cfg) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f'unknown colt option(s) {sorted(unknown)}: valid options are '
                             f'{sorted(cls.__dataclass_fields__)}')
        s = cls(**{k: (v.to_dict() if isinstance(v, ConfigDict) else v) for k, v in cfg.items()})
        s.validate()
        return s

    @property
    def num_groups(self) -> int:
        """Partitions per round: N for COLT, 1 for every other method."""
        return self.num_partitions if self.method == 'colt' else 1

    def record(self) -> dict:
        """The settings as plain JSON data (``colt_settings.json``)."""
        return asdict(self)

    def validate(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f'colt.method must be one of {list(METHODS)}, got '
                             f'{self.method!r}')
        METHODS[self.method].check(self)
        _check_init_ticket(self.init_ticket)
        _check_fraction('prune_ratio', self.prune_ratio, 0.2)
        _check_fraction('target_sparsity', self.target_sparsity, 0.8)
        if not isinstance(self.num_partitions, int) or self.num_partitions < 1:
            raise ValueError(f'colt.num_partitions must be an integer >= 1, got '
                             f'{self.num_partitions!r}: use 2 for COLT, 1 for IMP')
        _check_int('rewind_iter', self.rewind_iter, 0)
        _check_int('max_rounds', self.max_rounds, 1)
        _check_int('seed', self.seed, 0)
        _check_int('progress_interval', self.progress_interval, 0)
        _check_choice('prune_scope', self.prune_scope, ('global', 'layer'))
        _check_choice('granularity', self.granularity, ('weight', 'channel'))
        _check_choice('channel_score', self.channel_score, ('l1', 'l1_bn'))
        _check_choice('weight_score', self.weight_score, ('magnitude', 'movement'))
        if self.weight_score != 'magnitude' and self.granularity != 'weight':
            raise ValueError("colt.weight_score='movement' scores single weights: use "
                             "granularity='weight' (channels are scored by channel_score)")
        if self.granularity == 'channel' and (self.method not in ('colt', 'imp', 'dense')
                                              or self.init_ticket or self.random_from
                                              or self.mask_from):
            raise ValueError(f"colt.granularity='channel' works with method 'colt', 'imp' or "
                             f"'dense' and no init_ticket/random_from/mask_from (got method="
                             f"{self.method!r}): use granularity='weight' for the others")
        _check_choice('partition_scheme', self.partition_scheme,
                      ('contiguous', 'random', 'explicit'))
        _check_choice('partition_policy', self.partition_policy, ('ignore', 'drop', 'exclusive'))
        _check_choice('partition_budget', self.partition_budget, ('full', 'equal'))
        n = self.num_groups
        if self.min_keep is not None and (not isinstance(self.min_keep, int)
                                          or not 1 <= self.min_keep <= n):
            raise ValueError(f'colt.min_keep must be an integer in 1..{n} (the number of '
                             f'partitions) or None, got {self.min_keep!r}')
        for name in ('random_from', 'mask_from', 'metric_key', 'task'):
            v = getattr(self, name)
            if v is not None and not isinstance(v, str):
                raise ValueError(f'colt.{name} must be a string, got {v!r}')
        self.spec = PrunableSpec.from_cfg(self.prunable)


def _check_init_ticket(opts: Optional[dict]) -> None:
    if not opts:
        return
    extra = set(opts) - {'path', 'mode', 'key_map', 'allow_partial'}
    if 'path' not in opts or extra:
        raise ValueError(f'colt.init_ticket takes path=, mode=, key_map=, allow_partial= '
                         f'(got {sorted(opts)})')
    if opts.get('mode', 'rewind') not in ('rewind', 'trained'):
        raise ValueError(f"colt.init_ticket.mode must be 'rewind' or 'trained', got "
                         f"{opts.get('mode')!r}")


def _check_fraction(name: str, value, example: float) -> None:
    if not isinstance(value, (int, float)) or not 0.0 < value < 1.0:
        raise ValueError(f'colt.{name} must be in (0, 1), got {value!r}: e.g. '
                         f'{name}={example}')


def _check_int(name: str, value, least: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < least:
        raise ValueError(f'colt.{name} must be an integer >= {least}, got {value!r}')


def _check_choice(name: str, value, choices: tuple) -> None:
    if value not in choices:
        raise ValueError(f'colt.{name} must be one of {list(choices)}, got {value!r}')
