"""The benchmark scripts' bookkeeping (the runs themselves are by hand: docs/benchmarks/; the
docs' numbers against the recorded JSON: tests/test_docs.py)."""
import os.path as osp
import re
import sys

from conftest import ROOT

sys.path.insert(0, osp.join(ROOT, 'benchmarks'))
import search_cost  # noqa: E402


def _row(method, rnd, seconds, metric, target=0.89):
    return dict(method=method, target=target, reached=True, round=rnd, sparsity=target,
                samples=rnd * 100, seconds=seconds, metric=metric, min_layer_density=0.1,
                collapsed_layers=[], mean_jaccard=None if method == 'random' else 0.8)


def test_verdict_checks_each_target():
    result = dict(targets=[0.6, 0.89], prune_ratio=0.2, matched_rate=0.3, theta0_sha256='x',
                  dense=None, rows=[_row('colt-N2', 6, 57.0, 0.98), _row('imp', 10, 95.0, 0.998),
                                    _row('random', 0, 0.0, 0.87)])
    lines = search_cost.verdict(result).splitlines()
    assert lines[0].startswith('MET ') and '6 vs 10 (0.60x)' in lines[0]
    assert lines[1].startswith('MET ') and '57 s vs 95 s' in lines[1]
    assert lines[2].startswith('MISS') and '0.9800 vs 0.9980' in lines[2]
    assert lines[3].startswith('MET ')
    assert lines[4].startswith('MET ') and 'random >= 5 points below IMP' in lines[4]
    result['rows'][0].update(round=8, seconds=80.0, metric=0.995)
    lines = search_cost.verdict(result).splitlines()
    assert [ln[:4] for ln in lines] == ['MISS', 'MISS', 'MET ', 'MET ', 'MET ']
    result['rows'][2].update(metric=0.96)  # random only 3.8 points below IMP
    assert search_cost.verdict(result).splitlines()[4].startswith('MISS')
    # the thresholds are data: a 3-point goal is met by the same rows
    lines = search_cost.verdict(result, dict(search_cost.GOALS, random_below_imp=0.03))
    assert lines.splitlines()[4].startswith('MET ') and '>= 3 points below' in lines
    table = search_cost.table(result)
    assert '| random | 89% | 0 |' in table and table.rstrip().endswith('| - |')


def test_seeds_aggregate_to_mean_and_std_of_rows_reached_in_every_run():
    runs = {0: dict(rows=[_row('imp', 4, 40.0, 0.50, 0.8), _row('random', 0, 0.0, 0.40, 0.8)]),
            1: dict(rows=[_row('imp', 4, 44.0, 0.54, 0.8),
                          dict(method='random', target=0.8, reached=False)])}
    rows = search_cost.aggregate(runs)
    imp = next(r for r in rows if r['method'] == 'imp')
    assert imp['metric'] == 0.52 and abs(imp['metric_std'] - 0.02828) < 1e-4
    assert imp['seconds'] == 42.0 and imp['per_seed']['metric'] == [0.50, 0.54]
    assert next(r for r in rows if r['method'] == 'random')['reached'] is False
    # a goal over seeds is decided by the paired interval: a constant +7 points clears a
    # 1-point margin, +5/-2 points over two seeds leaves it open (None), one seed uses means
    other = dict(imp, metric=0.59, per_seed=dict(metric=[0.57, 0.61]))
    assert search_cost._versus(other, imp, 0.01)[0] is True
    assert search_cost._versus(imp, other, 0.01)[0] is False
    mixed = dict(imp, metric=0.535, per_seed=dict(metric=[0.55, 0.52]))
    assert search_cost._versus(mixed, imp, 0.01)[0] is None
    one = dict(metric=0.52), dict(metric=0.50)
    assert search_cost._versus(*one, 0.01) == (True, '+2.0 points (one seed: no interval), '
                                                      'decided on the means')
    dense = search_cost.mean_std([dict(metric=0.30, sparsity=0.0), dict(metric=0.34,
                                                                        sparsity=0.0)])
    assert dense['per_seed'] == [0.30, 0.34] and abs(dense['metric_std'] - 0.02828) < 1e-4
    assert search_cost.mean_std([dict(metric=0.30, sparsity=0.0), None]) is None
    table = search_cost.table(dict(prune_ratio=0.2, matched_rate=None, theta0_sha256='x',
                                   dense=dense, rows=rows))
    assert '0.5200 ± 0.0283' in table and 'dense reference: metric 0.3200 ± 0.0283' in table


def test_every_task_names_an_existing_config_and_known_methods():
    known = search_cost.known_methods()
    for task, d in search_cost.DEFAULTS.items():
        assert osp.exists(osp.join(ROOT, d['config'])), task
        assert set(d['methods']) <= known and d['targets'] == sorted(d['targets']), task
        assert set(d.get('method_options', {})) <= known, task


def test_a_pretrained_theta0_is_where_its_pretraining_writes_it():
    # search_cost trains a missing init_ticket with the config's pretrain_config (and a search
    # names it in its error): a pretraining that writes elsewhere would be run and not found
    from mmengine.config import Config
    for config in (search_cost.DEFAULTS['det-hard']['config'],
                   'configs/colt_faster_rcnn_hard_pretrained.py',
                   'configs/colt_tvresnet18_hard_cls_ticket.py',
                   'configs/colt_tvresnet18_hard_cls_ticket32.py'):
        cfg = Config.fromfile(osp.join(ROOT, config))
        pretrain = Config.fromfile(osp.join(ROOT, cfg.pretrain_config))
        assert cfg.colt.init_ticket['path'] == osp.join(pretrain.work_dir, 'tickets',
                                                        'final.safetensors'), config


def test_a_search_run_further_is_not_lowered(tmp_path):
    # a benchmark with lower --targets reuses a search that a run with higher ones continued
    assert search_cost.searched_to(str(tmp_path / 'none')) == 0.0
    (tmp_path / 'colt_settings.json').write_text('{"target_sparsity": 0.9}')
    assert search_cost.searched_to(str(tmp_path)) == 0.9


def test_plots_take_methods_that_prune_different_layers(tmp_path):
    # det-hard's movement variant leaves the frozen stem out of its prunable set
    rows = [dict(_row('imp', 3, 30.0, 0.31, 0.8), per_layer_sparsity={'a': 0.5, 'b': 0.9}),
            dict(_row('colt-N2-movement', 2, 20.0, 0.26, 0.8), per_layer_sparsity={'b': 0.8})]
    search_cost.plot(dict(rows=rows, dense=None, targets=[0.8], curves={}), str(tmp_path / 'p'))
    assert (tmp_path / 'p_per_layer_sparsity.png').stat().st_size > 0


def test_ap_by_size_ignores_only_the_boxes_below_the_threshold():
    import numpy as np
    sys.path.insert(0, osp.join(ROOT, 'benchmarks', 'calibration'))
    import ap_by_size

    # one large box found, one 8-px box missed, one 8-px box marked difficult (mmdet's
    # instances as the VOC dataset parses them)
    def box(xyxy, label, ignore):
        return dict(bbox=list(xyxy), bbox_label=label, ignore_flag=ignore)
    instances = {osp.realpath('x.jpg'): [box((10, 10, 60, 60), 0, 0), box((80, 80, 88, 88), 0, 0),
                                         box((90, 10, 98, 18), 1, 1)]}
    pred = dict(img_path='x.jpg',
                pred_instances=dict(bboxes=np.array([[10., 10., 60., 60.]]),
                                    scores=np.array([0.9]), labels=np.array([0])))
    res = ap_by_size.map_by_size([pred], instances, 2, [0, 10])
    assert [(r['scored'], r['ignored']) for r in res] == [(2, 1), (1, 2)]
    assert abs(res[0]['mAP'] - 0.5) < 1e-6 and abs(res[1]['mAP'] - 1.0) < 1e-6


def test_verdicts_name_the_cheapest_method_within_a_point_of_dense_and_colt_vs_imp():
    def row(method, metrics, images, rnd=5):
        r = dict(_row(method, rnd, 10.0 * rnd, sum(metrics) / len(metrics), 0.95),
                 total_samples=images, total_seconds=images / 10.0,
                 per_seed=dict(metric=metrics))
        return r
    rows = [row('imp-full', [0.360, 0.365, 0.362], 30000),
            row('colt-N2-full', [0.350, 0.366, 0.358], 30000),
            row('gmp', [0.361, 0.364, 0.359], 4800, rnd=0),
            row('oneshot', [0.30, 0.31, 0.29], 4800, rnd=0)]
    result = dict(targets=[0.95], rows=rows,
                  dense=dict(metric=0.3667, per_seed=[0.365, 0.370, 0.365]))
    lines = search_cost.verdicts(result)
    # gmp is the cheapest whose paired 90% interval lies inside +-1 point (TOST); imp-full's
    # lies inside too, at more images; colt's is too wide
    assert lines[0].startswith('95%: cheapest within 1 point of dense 0.3667 (TOST, 3 seeds): '
                               'gmp'), lines[0]
    assert '4800 images' in lines[0] and 'within 1 point: within (TOST)' in lines[0]
    colt_imp = next(ln for ln in lines if 'full rounds, equal budget' in ln)
    assert 'no difference detected (paired t, 3 seeds, 95% interval' in colt_imp
    assert 'rounds 5 vs 5' in colt_imp
    # a mean inside 1 point is not enough: with gmp's seeds spread out it is not established
    rows[2]['per_seed'] = dict(metric=[0.345, 0.380, 0.359])
    assert search_cost.verdicts(result)[0].startswith(
        '95%: cheapest within 1 point of dense 0.3667 (TOST, 3 seeds): imp-full')
    # nothing within a point: the best one is named with its verdict
    result['dense'] = dict(metric=0.45, per_seed=[0.45, 0.46, 0.44])
    first = search_cost.verdicts(result)[0]
    assert first.startswith('95%: no method shown within 1 point of dense 0.4500')
    assert 'within 1 point: not within (TOST)' in first


def test_full_rounds_train_the_final_schedule_and_targets_within_the_tolerance():
    from mmengine.config import Config
    base = Config.fromfile(osp.join(ROOT, search_cost.DEFAULTS['det-hard']['config']))
    full = search_cost.resolve_schedule(search_cost.SEARCH_METHODS['imp-full'], base)
    assert full['round_train_cfg'] == base.colt.final_train_cfg and 'schedule' not in full
    assert 'round_train_cfg' not in search_cost.resolve_schedule(
        search_cost.SEARCH_METHODS['imp'], base)
    assert search_cost.reaches(0.94967, 0.95) and not search_cost.reaches(0.9490, 0.95)


def test_the_whole_detector_goal_needs_the_voc_speed_up_and_the_paired_map():
    """Issue 34's verdict, per own ticket of a level (best first): within 1 point at 0.5x
    (3 points below) by TOST over 3 seeds paired with dense, and its found architecture >= 1.8x
    faster as a whole detector at VOC scale; the 128 px rows do not count."""
    import deploy

    def timed(name, size, eager):
        return dict(name=name, input_size=list(size), eager_speedup=eager,
                    onnxruntime_speedup=eager)
    channels = dict(levels=[0.5, 0.33], dense=dict(metric=0.36, per_seed=[0.36, 0.365, 0.355]),
                    rows=[dict(method='progressive-distill', level=0.5, metric=0.3617,
                               per_seed=[0.361, 0.367, 0.357]),
                          dict(method='oneshot-l1bn', level=0.5, metric=0.25,
                               per_seed=[0.25, 0.25, 0.25]),
                          dict(method='progressive-distill', level=0.33, metric=0.30,
                               per_seed=[0.30, 0.31, 0.29])])
    found = dict(rows=[timed('progressive-distill 0.5', (128, 128), 3.0),
                       timed('progressive-distill 0.5', deploy.VOC_INPUT, 1.9),
                       timed('progressive-distill 0.33', deploy.VOC_INPUT, 2.5)])
    half, oneshot, third = deploy.whole_verdict(found, channels)
    assert half.startswith('0.5x whole-detector MACs: progressive-distill 0.3617 vs dense')
    assert oneshot.startswith('0.5x whole-detector MACs: oneshot-l1bn 0.2500')
    assert 'VOC-scale latency not measured' in oneshot and oneshot.endswith('not met')
    assert 'within 1 point: within (TOST)' in half and '1.90x eager' in half
    assert half.endswith('goal (>= 1.8x, within 1 points) met')
    assert 'within 3 points: not within (TOST)' in third and third.endswith('not met')
    found['rows'][1]['eager_speedup'] = 1.7  # fast only at its own 128 px
    assert deploy.whole_verdict(found, channels)[0].endswith('not met')
    # levels measured at the VOC scale (--level-input) say so
    at_voc = dict(channels, input_size=[128, 128], level_input=list(deploy.VOC_INPUT))
    assert deploy.whole_verdict(found, at_voc)[0].startswith(
        '0.5x whole-detector MACs at 1024 x 608: progressive-distill')
    del found['rows'][1]
    assert 'VOC-scale latency not measured' in deploy.whole_verdict(found, channels)[0]


def test_whole_detector_latency_runs_every_tensor_layer_and_the_onnx_part(voc_data, tmp_path):
    from colt_det.tasks.base import get_task

    import deploy
    from conftest import det_config
    model = get_task('det').build_model(det_config(voc_data, '/tmp/unused')).eval()
    calls = {}
    for name, m in model.named_modules():
        if name in ('backbone', 'neck', 'rpn_head', 'roi_head.bbox_head'):
            m.register_forward_hook(lambda *a, name=name: calls.__setitem__(
                name, calls.get(name, 0) + 1))
    runners = deploy._whole_runners('dense', model, (96, 96), str(tmp_path), 1)
    assert sorted(runners) == ['dense|eager', 'dense|onnxruntime']
    calls.clear()
    runners['dense|eager']()
    assert calls == {'backbone': 1, 'neck': 1, 'rpn_head': 1, 'roi_head.bbox_head': 1}
    runners['dense|onnxruntime']()


def test_deploy_verdict_needs_both_the_speed_up_and_the_map_of_one_level():
    import deploy

    def voc(level, eager, ort):
        return dict(name=f'R-50 FPN one-shot {level:g}', eager_speedup=eager,
                    onnxruntime_speedup=ort, macs_backbone_neck=level + 0.1)
    latency = dict(detectors=dict(voc=dict(rows=[voc(0.5, 1.4, 1.5), voc(0.33, 1.9, 2.1),
                                                 voc(0.25, 2.6, 2.8)])))

    def row(method, level, metric, seeds=None):
        return dict(method=method, level=level, metric=metric,
                    **({'per_seed': seeds} if seeds else {}))
    channels = dict(dense=dict(metric=0.36), rows=[
        row('oneshot-l1', 0.5, 0.358), row('channel-imp', 0.33, 0.340),
        row('torch-pruning', 0.33, 0.356), row('channel-colt-N2', 0.25, 0.30)])
    lines = deploy.verdict(latency, channels)
    assert lines[-1].endswith('none of the levels')  # fast ones lose > 1 point; Torch-Pruning
    assert 'det-hard best channel-imp 0.3400' in lines[1]  # is the anchor, not colt_det's
    seeds = dict(dense=dict(metric=0.35, per_seed=[0.35, 0.34, 0.36]),
                 rows=[row('channel-imp', 0.33, 0.345, [0.345, 0.337, 0.353])])
    lines = deploy.verdict(latency, channels, seeds)
    assert 'within 1 point: within (TOST)' in lines[1] and 'paired t, 3 seeds' in lines[1]
    assert lines[-1].endswith(': 0.33x (channel-imp)')
    # the same mean with seeds that disagree: within a point is not established
    seeds['rows'][0]['per_seed'] = [0.30, 0.345, 0.39]
    lines = deploy.verdict(latency, channels, seeds)
    assert 'not established (TOST)' in lines[1] and lines[-1].endswith('none of the levels')


def test_channel_verdicts_compare_random_colt_and_torch_pruning_within_a_level():
    import channel_tickets

    def row(method, level, metric, macs=0.33):
        return dict(method=method, level=level, metric=metric, macs_backbone_neck=macs)
    result = dict(levels=[0.5, 0.33], dense=dict(metric=0.36), rows=[
        row('oneshot-l1', 0.5, 0.30), row('random', 0.5, 0.20), row('torch-pruning', 0.5, 0.31),
        row('oneshot-l1', 0.33, 0.25), row('oneshot-l1bn', 0.33, 0.27),
        row('channel-colt-N2', 0.33, 0.24), row('channel-imp', 0.33, 0.26)])
    lines = channel_tickets.verdicts(result)
    assert '0.5x: random vs oneshot-l1 (same widths): -10.0 points' in lines[1]
    assert "0.5x: torch-pruning vs oneshot-l1 (colt_det's best): +1.0 points" in lines[2]
    assert lines[3].startswith('0.33x backbone+neck MACs: best oneshot-l1bn 0.2700')
    assert '0.33x: channel-colt-N2 vs channel-imp: -2.0 points' in lines[4]
    assert len(lines) == 5  # 0.33x has neither random nor Torch-Pruning to compare
    # whole-detector levels say so and give the row's whole-detector MACs; the from-scratch
    # control is compared with the ticket whose widths it took
    result = dict(levels=[0.5], level_of='detector', dense=dict(metric=0.36), rows=[
        dict(row('progressive-distill', 0.5, 0.35), macs_detector=0.49),
        dict(row('scratch', 0.5, 0.10), macs_detector=0.49, widths_of='progressive-distill')])
    lines = channel_tickets.verdicts(result)
    assert lines[0].startswith('0.5x whole-detector MACs: best progressive-distill 0.3500 '
                               '(at 0.490x)')
    assert lines[1].startswith('0.5x: scratch vs progressive-distill (same widths, '
                               'reinitialised): -25.0 points')
    assert any(v.startswith('0.5x: scratch vs progressive-distill (same widths')
               for v in channel_tickets.slim_verdicts(result))
    # levels measured at another input size (--level-input): named, that size's MACs quoted
    result['level_input'] = [608, 1024]
    result['rows'][0]['macs_level_input'] = 0.51
    result['rows'][1]['macs_level_input'] = 0.51
    assert channel_tickets.verdicts(result)[0].startswith(
        '0.5x whole-detector MACs at 1024 x 608: best progressive-distill 0.3500 (at 0.510x)')


def test_every_config_parses_and_its_colt_settings_are_valid():
    import glob

    from mmengine.config import Config

    from colt_det.search.settings import ColtSettings
    paths = sorted(glob.glob(osp.join(ROOT, 'configs', '*.py')))
    assert len(paths) > 10
    for path in paths:
        cfg = Config.fromfile(path)
        if 'colt' in cfg:
            ColtSettings.from_cfg(cfg.colt)


def test_the_channel_benchmark_prunes_the_stem_and_layer1():
    """Frozen (det-hard's weight benchmark), the stem and layer1 stay whole in channel groups
    and their MACs are a floor above the benchmark's smaller levels."""
    from colt_det.core.prunable import channel_groups
    from colt_det.tasks.base import get_task

    import channel_tickets
    cfg = search_cost.load_cfg(channel_tickets.CONFIG, '/tmp/unused', {})
    producers = {n for g in channel_groups(get_task('det').build_model(cfg), 'deep')
                 for n in g.producers}
    assert {'backbone.conv1.weight', 'backbone.layer1.0.conv1.weight'} <= producers
    # --groups deep: backbone + neck MACs; --groups detector: the whole detector's
    assert channel_tickets.LEVEL_OF == {'deep': 'extract_feat', 'detector': 'detector'}


def test_a_longer_final_schedule_keeps_the_search_and_replaces_the_final_training(tmp_path):
    """benchmarks/final_schedule.py: a search's ticket retrained with another final schedule
    keeps the search's rounds and images; metric and totals are the new training's."""
    import pytest

    import final_schedule
    ticket = tmp_path / 'round_05.safetensors'
    ticket.write_bytes(b'')
    row = dict(_row('imp-full', 5, 1430.0, 0.3770, target=0.95), ticket=str(ticket),
               final_seconds=116.0, total_samples=500 + 4800, total_seconds=1546.0)
    new = final_schedule.retrained(row, dict(sparsity=0.9497, metric=0.4500, seconds=460.0,
                                             train_samples=19200))
    assert (new['round'], new['samples'], new['seconds']) == (5, 500, 1430.0)
    assert (new['metric'], new['source_metric'], new['final_seconds']) == (0.45, 0.377, 460.0)
    assert (new['total_samples'], new['total_seconds']) == (500 + 19200, 1430.0 + 460.0)
    source = dict(targets=[0.95], rows=[row, dict(method='colt-N2-full', target=0.95,
                                                  reached=False)])
    assert final_schedule.select(source, 0.95, ['imp-full', 'oneshot', 'dense']) == {
        'imp-full': row}
    for methods, target, message in (
            (['gmp-rewind'], 0.95, 'cannot be retrained here'),
            (['imp-full'], 0.9, "not one of the source's"),
            (['colt-N2-full'], 0.95, 'no ticket of colt-N2-full at 95%')):
        with pytest.raises(SystemExit, match=message):
            final_schedule.select(source, target, methods)
    ticket.unlink()
    with pytest.raises(SystemExit, match=f'ticket of imp-full at 95% \\({ticket}\\) does not'):
        final_schedule.select(source, 0.95, ['imp-full'])


def test_recorded_ticket_paths_are_relative_and_resolve_under_a_moved_work_root(tmp_path):
    """A recorded JSON names its tickets relative to the clone (no machine's absolute work
    dirs), and final_schedule finds them under ``--tickets-root`` when the work roots moved.
    Fails if a recorder writes absolute paths or select() stops resolving them."""
    import glob

    import final_schedule
    absolute = []
    for path in glob.glob(osp.join(ROOT, 'benchmarks', 'results', '**', '*.json'),
                          recursive=True):
        with open(path) as f:
            absolute += [f'{osp.basename(path)}: {p}' for p in
                         re.findall(r'"(/(?:work|home|tmp|root)/[^"]*)"', f.read())]
    assert not absolute, absolute[:5]
    moved = tmp_path / 'elsewhere'
    (moved / 'work_dirs' / 'imp-full' / 'tickets').mkdir(parents=True)
    ticket = moved / 'work_dirs' / 'imp-full' / 'tickets' / 'round_05.safetensors'
    ticket.write_bytes(b'')
    row = dict(_row('imp-full', 5, 1430.0, 0.3770, target=0.95),
               ticket='work_dirs/imp-full/tickets/round_05.safetensors')
    source = dict(targets=[0.95], rows=[row])
    assert final_schedule.select(source, 0.95, ['imp-full'], str(moved))['imp-full'][
        'ticket'] == str(ticket)
    import pytest
    with pytest.raises(SystemExit, match='--tickets-root'):
        final_schedule.select(source, 0.95, ['imp-full'], str(tmp_path))
    from colt_det.core.io import relative_paths
    assert relative_paths({'a': [str(ticket)]}, str(moved)) == {
        'a': ['work_dirs/imp-full/tickets/round_05.safetensors']}


def test_a_longer_final_schedule_takes_one_seed_of_a_several_seed_source():
    import pytest

    import final_schedule
    single = dict(seed=None, rows=[])
    several = dict(seeds=[0, 1], task='det-hard', runs={'0': dict(seed=0, rows=[]),
                                                        '1': dict(seed=1, rows=['r'])})
    assert final_schedule.one_run(single) is single
    assert final_schedule.one_run(several, 1) == dict(seed=1, rows=['r'], task='det-hard')
    with pytest.raises(SystemExit, match=r'holds the seeds \[0, 1\]: pick one with --seed'):
        final_schedule.one_run(several)
    with pytest.raises(SystemExit, match='pick one with --seed'):
        final_schedule.one_run(several, 2)
    with pytest.raises(SystemExit, match='holds one run: leave --seed out'):
        final_schedule.one_run(single, 1)


def test_one_seed_results_combine_into_paired_per_seed_rows(tmp_path):
    """final_schedule --combine: the runs of several seeds become one result whose rows hold
    per-seed values in the files' order (so its verdicts pair them); a method missing from a
    seed is left out; the same seed twice is refused."""
    import json

    import pytest

    import final_schedule

    def run(seed, metrics, dense):
        rows = [dict(_row(m, 5, 10.0, v, 0.95), total_samples=100, total_seconds=1.0)
                for m, v in metrics.items()]
        return dict(seed=seed, config='configs/colt_faster_rcnn_hard_pretrained32_24ep.py',
                    targets=[0.95], theta0_sha256=f't{seed}', rows=rows, prune_ratio=0.45,
                    matched_rate=None, dense=dict(metric=dense, sparsity=0.0))
    paths = []
    for seed, metrics, dense in ((1, dict(oneshot=0.40, gmp=0.30), 0.41),
                                 (2, dict(oneshot=0.42), 0.43)):
        paths.append(str(tmp_path / f's{seed}.json'))
        with open(paths[-1], 'w') as f:
            json.dump(run(seed, metrics, dense), f)
    result = final_schedule.combine(paths)
    assert result['seeds'] == [1, 2] and [r['method'] for r in result['rows']] == ['oneshot']
    assert result['rows'][0]['per_seed']['metric'] == [0.40, 0.42]
    assert result['dense']['per_seed'] == [0.41, 0.43]
    assert '2 seeds' in search_cost.verdicts(result)[0]
    with pytest.raises(SystemExit, match='seed 1 twice'):
        final_schedule.combine([paths[0], paths[0]])


def test_every_benchmark_writes_its_json_atomically():
    """No benchmark writes a result with a bare open()/json.dump (a kill mid-write would leave
    half a JSON that the docs then read): they go through colt_det's atomic writers."""
    import glob
    bare = []
    for path in glob.glob(osp.join(ROOT, 'benchmarks', '**', '*.py'), recursive=True):
        text = open(path).read()
        if re.search(r'json\.dump\(', text):
            bare.append(osp.relpath(path, ROOT))
    assert bare == []


def test_the_latency_model_fit_recovers_a_line_and_its_errors():
    import latency_model
    a, b, err = latency_model._fit([1.0, 2.0, 3.0], [12.0, 14.0, 16.0])
    assert (round(a, 9), round(b, 9)) == (10.0, 2.0) and max(err) < 1e-12
    a, b, err = latency_model._fit([1.0, 2.0, 3.0], [10.0, 20.0, 20.0])
    assert max(err) > 0.1  # not a line: the fit says so
