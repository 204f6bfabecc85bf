"""Extension points: a new score or partition scheme is one class/function and one registry
entry (docs/architecture.md, "Where to add things"), nothing else edited."""
import glob
import os.path as osp

import torch

from colt_det.core import load_ticket

from conftest import cls_config


def test_a_new_weight_score_is_one_class_and_one_registry_entry(cls_data, tmp_path):
    from colt_det.core.scores import WEIGHT_SCORES, WeightScore, register_weight_score
    from colt_det.search import ColtSearch

    @register_weight_score('toy_keep_smallest')
    class KeepSmallest(WeightScore):
        """Keeps the smallest weights (the opposite of magnitude pruning)."""

        def __call__(self, weights, theta0=None):
            return {n: -w.detach().abs() for n, w in weights.items()}
    try:
        cfg = cls_config(cls_data, str(tmp_path / 'w'), method='imp', num_partitions=1,
                         max_rounds=1, final_train=False, prune_ratio=0.5,
                         weight_score='toy_keep_smallest', keep_stage_checkpoints=True)
        ColtSearch(cfg).run()
    finally:
        WEIGHT_SCORES.pop('toy_keep_smallest')
    mask = load_ticket(osp.join(cfg.work_dir, 'tickets', 'round_01.safetensors')).masks
    stage = osp.join(cfg.work_dir, 'rounds', 'round_01', 'part_0')
    ckpt = sorted(glob.glob(osp.join(stage, 'epoch_*.pth')))[-1]
    trained = torch.load(ckpt, map_location='cpu', weights_only=False)['state_dict']
    kept = torch.cat([trained[n][m].abs() for n, m in mask.items()])
    pruned = torch.cat([trained[n][~m].abs() for n, m in mask.items()])
    assert kept.max() <= pruned.min()  # the stage pruned by the new score


def test_a_new_partition_scheme_is_one_function_and_one_registry_entry(cls_data, tmp_path):
    from colt_det.core.partition import PARTITION_SCHEMES, register_partition_scheme
    from colt_det.search import ColtSearch

    @register_partition_scheme('toy_reversed')
    def reversed_halves(classes, num_partitions, seed, groups):
        ordered = classes[::-1]
        k = len(ordered) // num_partitions
        return [ordered[i * k:(i + 1) * k] if i < num_partitions - 1 else ordered[i * k:]
                for i in range(num_partitions)]
    try:
        ctx = ColtSearch(cls_config(cls_data, str(tmp_path / 'w'),
                                    partition_scheme='toy_reversed')).check()
    finally:
        PARTITION_SCHEMES.pop('toy_reversed')
    classes = ctx.classes
    assert ctx.groups == [sorted(classes[5:], key=classes.index),
                          sorted(classes[:5], key=classes.index)]
    assert not osp.exists(ctx.work.root)  # checking writes nothing


def test_round_figures_go_to_the_configured_visualizer_backends(cls_data, tmp_path):
    """One config line (``visualizer.vis_backends``) sends every round's figures and the final
    metric to MMEngine's backends (here LocalVisBackend's scalars.json)."""
    import json

    from colt_det.search import ColtSearch
    cfg = cls_config(cls_data, str(tmp_path / 'w'), max_rounds=2, target_sparsity=0.7)
    cfg.visualizer = dict(type='Visualizer', vis_backends=[dict(type='LocalVisBackend')])
    summary = ColtSearch(cfg).run()
    files = glob.glob(osp.join(cfg.work_dir, 'tracking', '**', 'scalars.json'), recursive=True)
    assert len(files) == 1
    lines = [json.loads(ln) for ln in open(files[0])]
    rounds = [ln for ln in lines if 'colt/sparsity' in ln]
    assert [ln['step'] for ln in rounds] == [1, 2]
    assert [ln['colt/sparsity'] for ln in rounds] == [r['sparsity'] for r in summary['rounds']]
    assert all('colt/partition_0/accuracy/top1' in ln and 'colt/images' in ln for ln in rounds)
    final = [ln for ln in lines if 'colt/final/accuracy/top1' in ln]
    assert final and final[0]['colt/final/accuracy/top1'] == summary['final']['metric']
    # a resumed search does not track its finished rounds again
    ColtSearch(cfg, resume=True).run()
    assert len([ln for ln in map(json.loads, open(files[0])) if 'colt/sparsity' in ln]) == 2
