"""The ``colt = dict(...)`` block of a config, parsed and checked once."""
from dataclasses import asdict, dataclass, field, fields
from typing import Mapping, Optional

from mmengine.config import ConfigDict

from ..core import PrunableSpec
from ..core.partition import PARTITION_SCHEMES
from ..core.prunable import CHANNEL_DEPTHS
from ..core.scores import CHANNEL_SCORES, WEIGHT_SCORES
from ..tasks.base import get_task
from .method import get_method, registered_methods

# colt.early_stop: check the mask every `interval` iterations, stop once it moved less than
# `eps` (normalised Hamming distance) for `patience` checks in a row (Early-Bird)
EARLY_STOP_DEFAULTS = dict(interval=50, eps=0.01, patience=1)
# colt.distill: the teacher's checkpoint (required), the weight of each neck level's PKD loss,
# and the weight and temperature of the KL loss on the RoI head's class logits (0: off)
DISTILL_DEFAULTS = dict(teacher=None, fpn_weight=6.0, logit_weight=0.0, temperature=1.0)


@dataclass
class ColtSettings:
    """The ``colt = dict(...)`` block of a config (documented in README.md).

    ``spec`` (the parsed ``prunable`` option) is set by :meth:`validate`; it is not a field, so
    the settings record (``colt_settings.json``) holds exactly the options. Choices are checked
    against the registries (methods, tasks, scores, partition schemes and policies), so a
    registered extension is valid here without an edit of this file.
    """

    method: str = 'colt'  # a name in colt_det.registry.METHODS
    task: str = 'cls'  # a name in colt_det.registry.TASKS ('cls' | 'det')
    num_partitions: int = 2
    partition_scheme: str = 'contiguous'  # 'contiguous' | 'random' | 'explicit'
    partition_groups: Optional[list] = None
    prune_ratio: float = 0.2
    prune_scope: str = 'global'  # 'global' | 'layer'
    # 'weight': unstructured; 'channel': whole inner channels of model.backbone (deployable)
    granularity: str = 'weight'
    channel_score: str = 'l1'  # channels: 'l1' (filter mean |w|) | 'l1_bn' (x BN |gamma|)
    # channels: 'inner' (each block's inner channels) | 'deep' (+ the residual streams, the
    # neck's lateral convs read fewer); widths kept a multiple of channel_divisor
    channel_groups: str = 'inner'
    channel_divisor: int = 1
    # weights: 'magnitude' (|w|, the paper) | 'movement' (|w - theta0|: how far training moved it)
    weight_score: str = 'magnitude'
    # the layer-collapse guard: every layer keeps at least this fraction of its weights
    min_density: float = 0.0
    # the methods' own blocks (each Method's ``option``, checked by the method itself)
    gmp: Optional[dict] = None  # method='gmp': its schedule (methods/gmp.py)
    progressive: Optional[dict] = None  # method='progressive' (methods/progressive.py)
    torch_pruning: Optional[dict] = None  # method='torch_pruning' (methods/torch_pruning.py)
    oneshot: Optional[dict] = None  # method='oneshot': a channel MACs target (methods/baselines)
    early_stop: Optional[dict] = None  # colt/imp rounds: stop a stage once its mask converged
    target_sparsity: float = 0.8
    max_rounds: int = 30
    min_keep: Optional[int] = None  # keep a weight kept by >= k partitions (None: all N)
    prunable: dict = field(default_factory=dict)
    seed: int = 0
    rewind_iter: int = 0  # > 0: late rewinding to the weights after this many dense iterations
    final_train: bool = True
    final_train_cfg: Optional[dict] = None
    # the final training learns from a teacher's neck features (PKD): dict(teacher=CKPT,
    # fpn_weight=6.0), e.g. the dense run's final_masked.pth (DISTILL_DEFAULTS)
    distill: Optional[dict] = None
    # train_cfg overrides of every round's partition stages; the final training's
    # (final_train_cfg) gives the lottery-ticket protocol: each round trains the whole schedule
    round_train_cfg: Optional[dict] = None
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
        if cfg is not None and not isinstance(cfg, Mapping):
            raise ValueError(f"colt must be a dict of options, e.g. colt = dict(method='colt', "
                             f"task='det'), got {type(cfg).__name__} {cfg!r}")
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
        """Partitions per round: N for COLT, 1 for IMP and the methods without rounds."""
        return get_method(self.method).num_groups(self)

    @property
    def early_stop_options(self) -> Optional[dict]:
        return None if self.early_stop is None else dict(EARLY_STOP_DEFAULTS, **self.early_stop)

    def record(self) -> dict:
        """The settings as plain JSON data (``colt_settings.json``)."""
        return asdict(self)

    def validate(self) -> None:
        self._check_strings()
        method = get_method(self.method)  # a ValueError names the registered methods
        task = get_task(self.task)
        method.check(self)  # its own rules and its own block (e.g. colt.gmp)
        self._check_values()
        self._check_blocks(method)
        self._check_containers(method, task)
        self.spec = PrunableSpec.from_cfg(self.prunable)

    def _check_strings(self) -> None:
        """Every option declared a string is one (or None where it may be None): a list or
        a number there was an unhashable-type traceback or silently accepted."""
        for f in fields(self):
            kind = f.type if isinstance(f.type, str) else getattr(f.type, '__name__', '')
            optional = 'Optional[str]' in str(f.type)
            v = getattr(self, f.name)
            if (kind == 'str' or optional) and not isinstance(v, str) \
                    and not (optional and v is None):
                raise ValueError(f'colt.{f.name} must be a string'
                                 f"{' or None' if optional else ''}, got "
                                 f'{type(v).__name__} {v!r}')

    def _check_values(self) -> None:
        """The scalar options: types, ranges and the choices the registries hold."""
        _check_init_ticket(self.init_ticket)
        _check_fraction('prune_ratio', self.prune_ratio, 0.2)
        _check_fraction('target_sparsity', self.target_sparsity, 0.8)
        if not isinstance(self.num_partitions, int) or isinstance(self.num_partitions, bool) \
                or self.num_partitions < 1:
            raise ValueError(f'colt.num_partitions must be an integer >= 1, got '
                             f'{self.num_partitions!r}: use 2 for COLT, 1 for IMP')
        for name in ('final_train', 'keep_stage_checkpoints'):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f'colt.{name} must be True or False, got '
                                 f'{getattr(self, name)!r}')
        _check_int('rewind_iter', self.rewind_iter, 0)
        _check_int('max_rounds', self.max_rounds, 1)
        _check_int('seed', self.seed, 0)
        _check_int('progress_interval', self.progress_interval, 0)
        _check_choice('prune_scope', self.prune_scope, ('global', 'layer'))
        _check_choice('granularity', self.granularity, ('weight', 'channel'))
        _check_choice('channel_score', self.channel_score, tuple(sorted(CHANNEL_SCORES)))
        _check_choice('channel_groups', self.channel_groups, CHANNEL_DEPTHS)
        _check_int('channel_divisor', self.channel_divisor, 1)
        _check_choice('weight_score', self.weight_score, tuple(sorted(WEIGHT_SCORES)))
        if self.weight_score != 'magnitude' and self.granularity != 'weight':
            raise ValueError(f"colt.weight_score={self.weight_score!r} scores single weights: "
                             f"use granularity='weight' (channels are scored by channel_score)")
        if isinstance(self.min_density, bool) or not isinstance(self.min_density, (int, float)) \
                or not 0.0 <= self.min_density < 1.0:
            raise ValueError(f'colt.min_density must be in [0, 1), got {self.min_density!r}: '
                             f'e.g. min_density=0.01 keeps 1% of every layer')
        if self.min_density >= 1.0 - self.target_sparsity:
            raise ValueError(f'colt.min_density={self.min_density} keeps at least '
                             f'{self.min_density:.0%} of every layer, so target_sparsity '
                             f'{self.target_sparsity:.0%} cannot be reached: use min_density < '
                             f'{1 - self.target_sparsity:.3g}')

    def _check_blocks(self, method) -> None:
        """The option blocks: each method's own, ``distill`` and ``early_stop``."""
        for name, m in _methods().items():  # a method's block: known keys, its method only
            if m.option:
                _check_options(m.option, getattr(self, m.option), m.defaults)
                if getattr(self, m.option) is not None and self.method != name:
                    raise ValueError(f"colt.{m.option} is the schedule of method={name!r} (got "
                                     f"method={self.method!r}): drop it or set method="
                                     f"{name!r}")
        _check_options('distill', self.distill, DISTILL_DEFAULTS)
        if self.distill is not None:
            d = dict(DISTILL_DEFAULTS, **self.distill)
            if not isinstance(d['teacher'], str) or not d['teacher']:
                raise ValueError(f"colt.distill needs teacher='<checkpoint>.pth' (the dense "
                                 f"parent, e.g. a dense run's final_masked.pth), got "
                                 f"{d['teacher']!r}")
            for key, low in (('fpn_weight', 0.0), ('logit_weight', 0.0), ('temperature', None)):
                w = d[key]
                if isinstance(w, bool) or not isinstance(w, (int, float)) or (
                        w < 0 if low is not None else w <= 0):
                    raise ValueError(f"colt.distill.{key} must be a number "
                                     f"{'>= 0' if low is not None else '> 0'}, got {w!r}")
            if self.task != 'det':
                raise ValueError("colt.distill distils a detector's neck features: use it "
                                 "with task='det'")
        _check_options('early_stop', self.early_stop, EARLY_STOP_DEFAULTS)
        if self.early_stop is not None:
            if not method.rounds:
                raise ValueError(f"colt.early_stop stops the rounds of 'colt' and 'imp', not "
                                 f"method={self.method!r}: drop it")
            if self.granularity != 'weight':
                raise ValueError("colt.early_stop compares weight masks: drop it for "
                                 "granularity='channel'")
            es = self.early_stop_options
            _check_int('early_stop.interval', es['interval'], 1)
            _check_int('early_stop.patience', es['patience'], 1)
            _check_fraction('early_stop.eps', es['eps'], 0.01)

    def _check_containers(self, method, task) -> None:
        """Dicts and lists, what needs the method or the task, the strings."""
        if not isinstance(self.prunable, dict):
            raise ValueError(f"colt.prunable must be a dict, e.g. prunable=dict(include="
                             f"['backbone.*']), got {self.prunable!r}")
        if self.partition_groups is not None and not (
                isinstance(self.partition_groups, (list, tuple)) and all(
                    isinstance(g, (list, tuple)) for g in self.partition_groups)):
            raise ValueError(f"colt.partition_groups must be a list of class lists, e.g. "
                             f"[['cat', 'dog'], ['car']], got {self.partition_groups!r}")
        for name in ('round_train_cfg', 'final_train_cfg'):
            v = getattr(self, name)
            if v is not None and not isinstance(v, dict):
                raise ValueError(f'colt.{name} must be a dict of train_cfg overrides, got {v!r}')
        if self.granularity == 'channel' and not method.supports_channels:
            channel = sorted(n for n, m in _methods().items() if m.supports_channels)
            raise ValueError(f"colt.granularity='channel' works with method {channel} (got "
                             f"method={self.method!r}): use granularity='weight' for the others")
        _check_choice('partition_scheme', self.partition_scheme,
                      tuple(sorted(PARTITION_SCHEMES)))
        if task.policies is not None:
            _check_choice('partition_policy', self.partition_policy, task.policies)
        _check_choice('partition_budget', self.partition_budget, ('full', 'equal'))
        n = self.num_groups
        if self.min_keep is not None and (not isinstance(self.min_keep, int)
                                          or isinstance(self.min_keep, bool)
                                          or not 1 <= self.min_keep <= n):
            raise ValueError(f'colt.min_keep must be an integer in 1..{n} (the number of '
                             f'partitions) or None, got {self.min_keep!r}')
        for name in ('random_from', 'mask_from', 'metric_key', 'task'):
            v = getattr(self, name)
            if v is not None and not isinstance(v, str):
                raise ValueError(f'colt.{name} must be a string, got {v!r}')


def _check_init_ticket(opts: Optional[dict]) -> None:
    if not opts:
        return
    if not isinstance(opts, dict):
        raise ValueError(f"colt.init_ticket must be dict(path=...), got {opts!r}: e.g. "
                         f"init_ticket=dict(path='{opts}')" if isinstance(opts, str) else
                         f"colt.init_ticket must be dict(path=...), got {opts!r}")
    extra = set(opts) - {'path', 'mode', 'key_map', 'allow_partial'}
    if 'path' not in opts or extra:
        raise ValueError(f'colt.init_ticket takes path=, mode=, key_map=, allow_partial= '
                         f'(got {sorted(opts)})')
    if opts.get('mode', 'rewind') not in ('rewind', 'trained'):
        raise ValueError(f"colt.init_ticket.mode must be 'rewind' or 'trained', got "
                         f"{opts.get('mode')!r}")


def _methods() -> dict:
    return registered_methods()


def _check_options(name: str, opts, defaults: dict) -> None:
    if opts is None:
        return
    if not isinstance(opts, dict) or set(opts) - set(defaults):
        raise ValueError(f'colt.{name} takes {sorted(defaults)} (got '
                         f'{sorted(opts) if isinstance(opts, dict) else opts!r})')


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
