"""One frozen spec per stage (``colt_det.hooks.stage_spec``): the hooks are built from it, the
stage's mask is read and checked once, by the mask hook."""
import dataclasses
import os.path as osp

import pytest

from conftest import cls_config


def test_a_stage_spec_is_frozen_and_builds_the_hooks_in_order():
    from colt_det.hooks.stage_spec import (
        EarlyStopSpec,
        MaskSpec,
        PruneSpec,
        RecordSpec,
        StageSpec,
    )
    spec = StageSpec(mask=MaskSpec(mask='m.safetensors'), record=RecordSpec('r.json'),
                     prune=PruneSpec(0.3, 'out.safetensors'), early_stop=EarlyStopSpec(5),
                     seed=1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.seed = 2
    hooks = spec.hooks()
    assert [h['type'] for h in hooks] == [
        'colt_det.ColtMaskHook', 'colt_det.FiniteLossHook', 'colt_det.EpochSeedHook',
        'colt_det.ColtPruneHook', 'colt_det.MaskConvergenceHook', 'colt_det.StageRecordHook']
    assert hooks[0]['mask'] == 'm.safetensors' and hooks[3]['prune_ratio'] == 0.3
    assert hooks[4]['interval'] == 5 and hooks[-1]['out_result'] == 'r.json'
    # ColtHook's flat keywords map onto the same spec; an unknown one is named
    flat = StageSpec.from_flat(mask='m.safetensors', out_result='r.json', prune_ratio=0.3,
                               out_mask='out.safetensors', prune_scope='layer', seed=1)
    assert flat.prune.scope == 'layer' and flat.mask.mask == 'm.safetensors'
    with pytest.raises(ValueError, match=r"ColtHook takes no \['pruning'\]"):
        StageSpec.from_flat(pruning=0.3)


def test_a_channel_stage_reads_and_checks_its_mask_once(cls_data, tmp_path,
                                                                   monkeypatch):
    """Pruning, record and early-stop hooks ask the mask hook: the mask file is read and
    checked against the prunable set (``stage_mask`` -> ``masked_params``) once per stage,
    where each hook used to read its own."""
    from colt_det.hooks import mask_hook
    from colt_det.search import ColtSearch
    calls = []
    real = mask_hook.masked_params

    def counted(*args, **kwargs):
        calls.append(args[2])
        return real(*args, **kwargs)
    monkeypatch.setattr(mask_hook, 'masked_params', counted)
    work = str(tmp_path / 'w')
    cfg = cls_config(cls_data, work, granularity='channel', method='imp', num_partitions=1,
                     prune_ratio=0.3, target_sparsity=0.2, max_rounds=1, final_train=False)
    ColtSearch(cfg).run()
    stages = [osp.join(work, 'rounds', 'round_01', 'part_0')]
    assert all(osp.exists(osp.join(s, 'result.json')) for s in stages)
    assert calls == ['channel'] * len(stages)


def test_the_prune_hook_without_a_mask_hook_says_what_it_needs():
    from types import SimpleNamespace

    from colt_det.hooks.prune_hook import ColtPruneHook
    with pytest.raises(ValueError, match='colt_det.ColtPruneHook reads the stage mask from a '
                                         'colt_det.ColtMaskHook'):
        ColtPruneHook(0.3, 'o.safetensors').before_train(SimpleNamespace(hooks=[]))
