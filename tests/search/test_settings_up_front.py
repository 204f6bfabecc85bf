"""Reliability round 4: every setting checked by type and range before anything is written.

Each case failed on the code before this round: a typo in a stage's ``train_cfg`` override
surfaced only when that stage started (after every round had trained, for the final one), and a
string or a bool where another type belongs was accepted or garbled. Now each is one line at
start-up, naming the option and the fix, and the work dir is not created.
"""
import pytest

from conftest import load_tool, one_line_error, write_tiny_cls_cfg

train = load_tool('train').main


@pytest.mark.parametrize('options,message', [
    # 1. the final training's overrides, read only after the rounds before
    (['colt.final_train_cfg.max_epoch=1'], "colt.final_train_cfg: EpochBasedTrainLoop takes "
                                           "no 'max_epoch' (did you mean 'max_epochs'?)"),
    (["colt.final_train_cfg.type=EpochBasedTrainLop"],
     "type='EpochBasedTrainLop' is not a registered training loop (did you mean "
     "'EpochBasedTrainLoop'?)"),
    (['colt.final_train_cfg.val_interval=0'], 'colt.final_train_cfg: val_interval must be an '
                                              'integer >= 1, got 0'),
    # 2. the rounds' overrides: a typo, and counts that named no option
    (['colt.round_train_cfg.max_epoch=1'], "colt.round_train_cfg: EpochBasedTrainLoop takes no "
                                           "'max_epoch' (did you mean 'max_epochs'?)"),
    (['colt.round_train_cfg.max_epochs=0'], 'colt.round_train_cfg: max_epochs must be an '
                                            'integer >= 1, got 0'),
    (['colt.round_train_cfg.max_epochs=-1'], 'max_epochs must be an integer >= 1, got -1'),
    # 4. wrong types that ran
    # (a line of the config itself: --cfg-options turns 'false' into False)
    (["colt['final_train'] = 'false'"], "colt.final_train must be True or False, got 'false'"),
    (["colt['keep_stage_checkpoints'] = 'no'"], "colt.keep_stage_checkpoints must be True or "
                                                "False"),
    (['colt.num_partitions=True'], 'colt.num_partitions must be an integer >= 1, got True'),
    (['colt.method=gmp', 'colt.gmp.start=0.8', 'colt.gmp.end=0.2'],
     'colt.gmp.end (0.2) must come after start (0.8)'),
    (['colt.method=gmp', 'colt.gmp.every=0'], 'colt.gmp.every must be at least one iteration'),
    # 5. messages that garbled the value
    (['colt = [1, 2]'], 'colt must be a dict of options'),
    (["colt['prunable'] = 'backbone.*'"], "colt.prunable must be a dict, e.g. prunable=dict("),
    (["colt['prunable'] = dict(include='backbone.*')"],
     "colt.prunable.include must be a list of glob patterns, got 'backbone.*': e.g. include=["),
    (["colt['init_ticket'] = 'x.safetensors'"], "colt.init_ticket must be dict(path=...), got "
                                                "'x.safetensors'"),
    # 6. a divisor wider than every layer: a whole round trained before, pruning nothing
    (['colt.granularity=channel', 'colt.prune_scope=layer', 'colt.channel_divisor=1000'],
     'colt.channel_divisor=1000 is wider than every channel group'),
    # 7. an early stop a channel search used to ignore without a word
    (['colt.granularity=channel', "colt['early_stop'] = dict(interval=2)"],
     "colt.early_stop compares weight masks: drop it for granularity='channel'"),
])
def test_a_bad_setting_is_one_line_before_any_write(cls_data, tmp_path, capsys, options,
                                                    message):
    """``options``: --cfg-options, or lines of the config file (those with a space)."""
    lines = [o for o in options if ' ' in o]
    config = write_tiny_cls_cfg(tmp_path, cls_data, '\n'.join(lines) + '\n')
    work = tmp_path / 'w'
    cfg_options = [o for o in options if ' ' not in o]
    one_line_error(capsys, train([config, '--work-dir', str(work)] + (
        ['--cfg-options', *cfg_options] if cfg_options else [])), message)
    assert not work.exists()


def test_the_loop_check_refuses_what_the_loop_refuses_nothing_more():
    """by_epoch=, type= (also colt_det's loop) and a loop's own keys pass; the same key under
    the other loop type is refused."""
    from colt_det.errors import SearchError
    from colt_det.search.train_cfgs import check_train_cfg
    for ok in (dict(by_epoch=True, max_epochs=3, val_begin=2, val_interval=1),
               dict(type='IterBasedTrainLoop', max_iters=5, val_interval=5),
               dict(type='colt_det.StoppableEpochBasedTrainLoop', max_epochs=2)):
        check_train_cfg(ok, 'train_cfg')
    with pytest.raises(SearchError, match="IterBasedTrainLoop takes no 'max_epochs'"):
        check_train_cfg(dict(type='IterBasedTrainLoop', max_epochs=5), 'train_cfg')
    with pytest.raises(SearchError, match='needs max_iters='):
        check_train_cfg(dict(type='IterBasedTrainLoop'), 'train_cfg')


def test_colt_train_is_tools_train_hash_seed_and_the_command_named(cls_data, tmp_path,
                                                                    monkeypatch, capsys):
    """Reliability round 4: ``colt-train`` fixed no hash seed for the processes it starts, and
    its messages named ``tools/train.py`` to a user who ran ``colt-train``."""
    import os
    import sys

    from colt_det.runtime.logging import train_command
    monkeypatch.delenv('PYTHONHASHSEED', raising=False)
    config = write_tiny_cls_cfg(tmp_path, cls_data, "colt['init_ticket'] = dict(path='x.st')\n"
                                "pretrain_config = 'configs/pre.py'\n")
    monkeypatch.setattr(sys, 'argv', ['/usr/local/bin/colt-train'])
    assert train_command() == 'colt-train'
    one_line_error(capsys, train([config, '--work-dir', str(tmp_path / 'w')]),
                   'train it first with colt-train configs/pre.py')
    assert os.environ['PYTHONHASHSEED'] == '0'
    monkeypatch.setattr(sys, 'argv', ['tools/train.py'])
    assert train_command() == 'python tools/train.py'


def test_a_key_a_module_does_not_take_names_the_config_key(tiny_cfg, tmp_path, capsys):
    """``model.backbone.init_cfg`` on a backbone without one was a TypeError traceback from
    the model's constructor; now one line naming the key, before anything is written."""
    work = tmp_path / 'w'
    one_line_error(capsys, train([tiny_cfg, '--work-dir', str(work), '--cfg-options',
                                  'model.backbone.init_cfg.type=Pretrained']),
                   'model.backbone.init_cfg', 'SmallConvNet takes no argument')
    assert not work.exists()


def _wrong_values():
    """(option, a value of a wrong type) for every colt option, by its declared type."""
    import dataclasses
    import typing

    from colt_det.search.settings import ColtSettings
    wrong = {str: [3, [1], {'a': 1}], int: ['x', 1.5, [1], True], float: ['x', [1], True],
             bool: ['yes', 1, None], dict: ['x', [1], 3], list: ['x', 3]}
    for f in dataclasses.fields(ColtSettings):
        t = eval(f.type, vars(typing)) if isinstance(f.type, str) else f.type
        base = ([a for a in typing.get_args(t) if a is not type(None)] or [t])[0]
        for v in wrong[typing.get_origin(base) or base]:
            yield f.name, v


@pytest.mark.parametrize('name,value', list(_wrong_values()))
def test_every_colt_option_given_a_wrong_type_is_refused_naming_it(name, value):
    """Each option, each wrong type (a list where a string belongs, a bool where an integer
    does, ...): a ValueError naming the option (the tools print it as one line). Before, a
    list method or task was an unhashable-type traceback, and min_keep=True or
    partition_policy=3 were accepted."""
    from colt_det.search.settings import ColtSettings
    with pytest.raises(ValueError, match=name):
        ColtSettings.from_cfg({name: value})
