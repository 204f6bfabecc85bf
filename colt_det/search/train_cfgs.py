"""The training loops a search will build, checked before anything is written.

``colt.round_train_cfg`` and ``colt.final_train_cfg`` are ``train_cfg`` overrides that MMEngine
would only read when their stage starts, after every round has trained. :func:`check_train_cfgs`
resolves each stage kind's ``train_cfg`` as the stage will, finds its loop class and checks every
key against the loop's arguments (the closest valid name suggested) and the counts by type and
range, so a typo fails in the first second, not after the rounds.
"""
import difflib
import inspect
from typing import Optional

from mmengine.registry import LOOPS

from ..errors import SearchError

# train_cfg keys MMEngine's Runner reads itself (build_train_loop), not the loop class
_RUNNER_KEYS = {'type', 'by_epoch'}
_COUNTS = {'max_epochs': 1, 'max_iters': 1, 'val_begin': 1, 'val_interval': 1}


def _loop_class(train_cfg: dict, where: str):
    kind = train_cfg.get('type')
    if kind is None:
        if 'by_epoch' not in train_cfg:
            raise SearchError(f"{where} has neither type= nor by_epoch=: give "
                              f"type='EpochBasedTrainLoop' or by_epoch=True")
        kind = 'EpochBasedTrainLoop' if train_cfg['by_epoch'] else 'IterBasedTrainLoop'
    if not isinstance(kind, str):
        return kind if inspect.isclass(kind) else None
    cls = LOOPS.get(kind)
    if cls is None:
        near = difflib.get_close_matches(kind.split('.')[-1], [
            *LOOPS.module_dict, 'colt_det.StoppableEpochBasedTrainLoop'], n=1)
        raise SearchError(f'{where}: type={kind!r} is not a registered training loop'
                          + (f' (did you mean {near[0]!r}?)' if near else ''))
    return cls


def check_train_cfg(train_cfg: dict, where: str) -> None:
    """Raise a one-line SearchError for a train_cfg its loop could not be built from."""
    cls = _loop_class(train_cfg, where)
    if cls is None:
        return
    params = inspect.signature(cls.__init__).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    valid = {n for n in params if n not in ('self', 'runner', 'dataloader')} | _RUNNER_KEYS
    for key in train_cfg:
        if key not in valid and not takes_any:
            near = difflib.get_close_matches(key, sorted(valid), n=1)
            raise SearchError(f'{where}: {cls.__name__} takes no {key!r}' + (
                f' (did you mean {near[0]!r}?)' if near else f': valid keys {sorted(valid)}'))
    missing = [n for n, p in params.items() if n not in ('self', 'runner', 'dataloader')
               and p.default is inspect.Parameter.empty
               and p.kind is p.POSITIONAL_OR_KEYWORD and n not in train_cfg]
    if missing:
        raise SearchError(f'{where}: {cls.__name__} needs {missing[0]}=')
    for key, least in _COUNTS.items():
        v = train_cfg.get(key)
        if key in train_cfg and (isinstance(v, bool) or not isinstance(v, int) or v < least):
            raise SearchError(f'{where}: {key} must be an integer >= {least}, got {v!r}')


def check_train_cfgs(cfg, settings) -> None:
    """Check the ``train_cfg`` of every stage kind the search trains: the rounds' (the
    config's ``train_cfg`` with ``colt.round_train_cfg``) and the final training's (with
    ``colt.final_train_cfg``)."""
    base = dict(cfg.get('train_cfg') or {})
    stages = [('round_train_cfg', settings.round_train_cfg),
              ('final_train_cfg', settings.final_train_cfg)]
    for option, override in stages:
        merged = _merged(base, override)
        where = f'colt.{option}' if override else 'train_cfg'
        check_train_cfg(merged, where)


def _merged(base: dict, override: Optional[dict]) -> dict:
    out = dict(base)
    out.update(override or {})
    return out
