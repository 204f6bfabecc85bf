"""Slim detectors where masks matter: channel tickets on the hard detection set, side by side
with the one-shot baselines and Torch-Pruning's own pruner, at the same compression.

Every method starts from the same pretrained theta0 (the det-hard benchmark's config) and prunes
the same channels: ``colt.channel_groups='deep'`` (each block's inner channels, the residual
streams, the stem and the FPN's lateral channels) with widths kept a multiple of 8; the stem and
layer1 train (``configs/colt_faster_rcnn_hard_channels.py``), so they can be pruned. The
compression levels are MACs of the backbone + neck (``--levels``, fractions of dense's):

    channel-colt-N2   COLT N=2 rounds (1 epoch per stage, p of every group's channels per round)
    channel-imp       IMP rounds, the same schedule
        (a round method's point at a level is its round whose MACs are nearest)
    oneshot-l1        theta0's channels pruned once by filter L1 (``channel_score='l1'``)
    oneshot-l1bn      ... by filter L1 x |BN gamma| (``'l1_bn'``)
    random            random channels with oneshot-l1's widths
    torch-pruning     Torch-Pruning's MetaPruner with GroupMagnitudeImportance (its
                      ``GroupNormImportance``), one shot on theta0
    torch-pruning-taylor   ... with GroupTaylorImportance, the loss gradients of 8 training
                      batches at theta0 (``colt.torch_pruning.importance='taylor'``)
        (the one-shot ratios are bisected until the MACs match the level)
    oneshot-l1bn-distill   oneshot-l1bn, its fine-tune distilled from dense (``colt.distill``:
                      PKD on the FPN outputs, the dense run's final_masked.pth as teacher)
    progressive-fisher     ``method='progressive'``: channel blocks removed during the
                      fine-tune itself (from theta0) until the level's MACs, ranked by
                      GroupFisher's Fisher importance per MAC (``'fisher_macs'``)
    progressive-fisher-raw ... by Fisher importance without the MACs normalisation
    progressive-distill    progressive-fisher, distilled from dense as oneshot-l1bn-distill
    progressive-macs       progressive-distill ranked by Fisher importance per MAC a block
                      saves at the level's input size (``normalize='macs'``; fisher_macs
                      divides by the MACs at the training input instead)
    progressive-latency    progressive-distill ranked by Fisher importance per *time* saved:
                      ``normalize='latency'``, a block's cost its layers' measured time on this
                      CPU at the level's input size (``colt_det.core.latency``)
    progressive-latency-16 ... widths a multiple of 16 (``channel_divisor=16``: this CPU's
                      vector width in floats; a width of 8 more costs it no time)
    progressive-latency-target   ... pruned on until the modelled time is at most
                      ``LATENCY_TARGET`` of dense's too (``target_latency``: fewer MACs than
                      the level where time needs it)
        (every method trains the same final schedule: equal images; the progressive ones prune
        inside it)
    scratch           the from-scratch control (Liu et al., ICLR 2019): the widths of the
                      level's best-placed own ticket (progressive-distill, else
                      progressive-fisher, else oneshot-l1bn), reinitialised (a seeded random
                      theta0, no pretrained backbone), trained with the same schedule
    dense             the same schedule, nothing pruned

Every ticket is then fine-tuned with the final schedule (the same for all), exported with
``colt-export --slim`` and evaluated from the slim model with ``colt-test``; the table reports
the slim model's parameters, MACs (backbone, backbone + neck, whole detector), checkpoint size
and mAP@0.5.

``--groups detector``: the heads' channels are pruned too (``colt.channel_groups='detector'``:
the RPN conv and the RoI head's two FCs besides the deep groups) and a level is a fraction of
the *whole detector's* MACs at the test scale and the test-time proposal count (backbone,
neck, RPN head, RoI head: :func:`colt_det.deploy.measure.detector_macs`).
``--level-input H W``: the levels' MACs counted at another input size (the scale a detector is
deployed at, e.g. ``608 1024``); progressive pruning is steered by them
(``progressive.input_size``) and the table adds their column.
Runs resume: delete the work root to start over.

Usage:
    .venv/bin/python benchmarks/channel_tickets.py                      # 3 levels, seed 0
    .venv/bin/python benchmarks/channel_tickets.py --seeds 0 1 2 --levels 0.33
    .venv/bin/python benchmarks/channel_tickets.py --groups detector --levels 0.5
    .venv/bin/python benchmarks/channel_tickets.py --groups detector --level-input 608 1024
"""
import argparse
import os
import os.path as osp
import statistics
import sys
import time
from typing import Dict, List, Optional

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, osp.join(ROOT, 'benchmarks'))
os.environ.setdefault('PYTHONHASHSEED', '0')

import search_cost  # noqa: E402

CONFIG = 'configs/colt_faster_rcnn_hard_channels.py'  # --config for another
# what a level is a fraction of, by --groups: the backbone + neck's or the whole detector's MACs
LEVEL_OF = {'deep': 'extract_feat', 'detector': 'detector'}
CHANNELS = dict(granularity='channel', channel_groups='deep', channel_divisor=8,
                prune_scope='layer', channel_score='l1')
ROUND_RATE = 0.1  # of every group's channels per round: several rounds between two levels
# deep enough that the rounds pass the smallest level (0.25x MACs after about 8 rounds)
SEARCH = dict(target_sparsity=0.85, max_rounds=20, final_train=False, prune_ratio=ROUND_RATE)
ROUND_METHODS = {'channel-colt-N2': dict(method='colt', num_partitions=2),
                 'channel-imp': dict(method='imp', num_partitions=1)}
ONE_SHOT = {'oneshot-l1': dict(method='oneshot', channel_score='l1'),
            'oneshot-l1bn': dict(method='oneshot', channel_score='l1_bn'),
            'torch-pruning': dict(method='torch_pruning'),
            'torch-pruning-taylor': dict(method='torch_pruning',
                                         torch_pruning=dict(importance='taylor', batches=8)),
            'oneshot-l1bn-distill': dict(method='oneshot', channel_score='l1_bn', distill=True)}
LATENCY_TARGET = 0.45  # of the modelled time (progressive-latency-target)
# method='progressive' at each level: its target_macs is the level (backbone + neck MACs)
PROGRESSIVE = {'progressive-fisher': dict(channel_score='fisher_macs'),
               'progressive-fisher-raw': dict(channel_score='fisher'),
               'progressive-distill': dict(channel_score='fisher_macs', distill=True),
               'progressive-macs': dict(channel_score='fisher', distill=True,
                                        progressive=dict(normalize='macs')),
               'progressive-latency': dict(channel_score='fisher', distill=True,
                                           progressive=dict(normalize='latency')),
               'progressive-latency-16': dict(channel_score='fisher', distill=True,
                                              channel_divisor=16,
                                              progressive=dict(normalize='latency')),
               'progressive-latency-target': dict(
                   channel_score='fisher', distill=True,
                   progressive=dict(normalize='latency', target_latency=LATENCY_TARGET))}
SCHEDULE = dict(start=0.0, end=0.5, every=0.01)  # the MACs fall over the first half
METHODS = list(ROUND_METHODS) + list(ONE_SHOT) + list(PROGRESSIVE) + ['random', 'scratch',
                                                                       'dense']
# whose widths the from-scratch control takes, first present first
SCRATCH_FROM = ('progressive-distill', 'progressive-fisher', 'oneshot-l1bn')
OWN = ('channel-colt-N2', 'channel-imp', 'oneshot-l1', 'oneshot-l1bn', 'oneshot-l1bn-distill',
       'progressive-fisher', 'progressive-fisher-raw', 'progressive-distill',
       'progressive-macs', 'progressive-latency', 'progressive-latency-16',
       'progressive-latency-target')  # colt_det's own
INPUT = (128, 128)  # the det-hard detector's test scale


class Measure:
    """MACs of masks of the benchmark's model (built once, theta0 loaded)."""

    def __init__(self, cfg, theta0_path: str, depth: str = 'deep',
                 level_input=INPUT) -> None:
        from colt_det.core.prunable import channel_groups
        from colt_det.deploy.measure import detector_macs, feature_macs
        from colt_det.runtime.checkpoints import load_state
        from colt_det.tasks.base import get_task
        self.cfg = cfg
        self.model = get_task('det').build_model(cfg).eval()
        self.theta0 = load_state(theta0_path)
        self.model.load_state_dict(self.theta0, strict=True)
        self.depth = depth
        self.groups = channel_groups(self.model, depth)
        self.dense = {p: feature_macs(self.model, INPUT, p) for p in ('backbone', 'extract_feat')}
        self.dense_parts = detector_macs(self.model, INPUT)
        self.dense['detector'] = self.dense_parts['total']
        self.level_cost = None  # levels counted at another input size: what progressive
        if tuple(level_input) != INPUT:  # pruning steers by (core.prunable.channel_cost)
            from colt_det.core.prunable import channel_cost
            self.level_cost = channel_cost(self.model, depth, level_input, self.groups)

    def macs(self, mask) -> Dict[str, float]:
        """MACs of the slim model under ``mask``, as fractions of the dense model's (the
        whole detector's: ``'detector'``, its heads by name)."""
        from colt_det.deploy.measure import detector_macs, feature_macs
        from colt_det.deploy.slim import slim_copy
        slim = slim_copy(self.model, mask, self.groups)
        out = {p: feature_macs(slim, INPUT, p) / self.dense[p] for p in ('backbone',
                                                                        'extract_feat')}
        parts = detector_macs(slim, INPUT)
        out['detector'] = parts['total'] / self.dense['detector']
        out.update({p: parts[p] / self.dense_parts[p] for p in ('rpn_head', 'roi_head')
                    if p in parts})
        if self.level_cost is not None:
            out['level_input'] = self.level_cost.macs(mask) / self.level_cost.dense
        return out

    def level(self, macs: Dict[str, float]) -> float:
        """The fraction a level is matched against: :data:`LEVEL_OF`'s MACs at the level's
        input size."""
        return macs.get('level_input', macs[LEVEL_OF[self.depth]])

    def one_shot_mask(self, name: str, ratio: float, s: dict):
        from colt_det.core.channels import channel_prune
        from colt_det.core.prunable import torch_pruning_mask
        ones = {n: p.new_ones(p.shape, dtype=bool) for g in self.groups for n in g.producers
                for p in [self.theta0[n]]}
        if name.startswith('torch-pruning'):
            if self.depth != 'deep':
                raise SystemExit("torch-pruning prunes the deep groups only: run it without "
                                 "--groups detector")
            importance = ONE_SHOT[name].get('torch_pruning', {}).get('importance',
                                                                     'group_magnitude')
            if importance == 'taylor' and self.model.backbone.conv1.weight.grad is None:
                self._gradients(ONE_SHOT[name]['torch_pruning']['batches'], s['seed'])
            return torch_pruning_mask(self.model, self.groups, ratio, s['channel_divisor'],
                                      importance)
        name = name.replace('-distill', '')
        return channel_prune(self.theta0, ones, self.groups, ratio, s['prune_scope'],
                             ONE_SHOT[name]['channel_score'], s['channel_divisor'])

    def _gradients(self, batches: int, seed: int) -> None:
        """The loss gradients at theta0 the Taylor method computes (the same batches)."""
        from colt_det.methods.torch_pruning import loss_gradients
        from colt_det.tasks.base import get_task
        with get_task('det').scope(self.cfg):
            loss_gradients(self.model, self.cfg, batches, seed)
        self.model.load_state_dict(self.theta0, strict=True)  # BN statistics as theta0's
        self.model.eval()

    def ratio_for(self, name: str, level: float, s: dict) -> float:
        """The pruning ratio whose one-shot mask has MACs (:data:`LEVEL_OF`) nearest
        ``level``."""
        from colt_det.deploy.measure import ratio_for_macs
        ratio, _ = ratio_for_macs(
            lambda r: self.level(self.macs(self.one_shot_mask(name, r, s))), level)
        return round(ratio, 4)


def slim_eval(config: str, work: str, out_dir: str) -> dict:
    """The final ticket exported slim (``colt-export --slim``) and tested (``colt-test``)."""
    import json

    from colt_det.cli import export as export_cmd
    from colt_det.cli import test as test_cmd
    from colt_det.deploy.onnx import load_detector
    from colt_det.search.workdir import WorkDir
    stem = osp.join(out_dir, 'slim')
    ticket = WorkDir(work).final_ticket
    from colt_det.core import read_ticket_meta
    if read_ticket_meta(ticket).get('granularity') != 'channel':  # dense: nothing to slim
        return dict(map50=None, params=None, checkpoint_mb=osp.getsize(
            WorkDir(work).final_masked) / 2 ** 20, slim=None)
    cfg_path = osp.join(out_dir, 'search.py')
    if not osp.exists(stem + '.pth'):
        os.makedirs(out_dir, exist_ok=True)
        search_cost.load_cfg(config, work, {}).dump(cfg_path)
        assert export_cmd.main([ticket, stem, '--slim', cfg_path, '--force']) == 0
    metrics = osp.join(out_dir, 'metrics.json')
    if not osp.exists(metrics):
        assert test_cmd.main([stem + '.py', stem + '.pth', '--out', metrics, '--no-coco']) == 0
    model, _ = load_detector(stem + '.py', stem + '.pth')
    return dict(map50=json.load(open(metrics))['voc07/mAP'],
                params=sum(p.numel() for p in model.parameters()),
                checkpoint_mb=osp.getsize(stem + '.pth') / 2 ** 20, slim=stem)


def run(levels: List[float], seed: int, work_root: str, methods: List[str],
        config: str = CONFIG, depth: str = 'deep', level_input=INPUT) -> dict:
    from colt_det.core import load_ticket
    from colt_det.search.workdir import WorkDir
    seeded = dict(seed=seed)
    base = dict(CHANNELS, **seeded, channel_groups=depth)
    level_of = LEVEL_OF[depth]
    rows, rounds = [], {}

    def final(name: str, level: float, colt: dict) -> dict:
        work = osp.join(work_root, f'{name}_final_{level:g}')
        print(f'== {name} at {level:g}: final training ({colt})', flush=True)
        f = search_cost.final_metric(config, work, dict(base, **colt))
        return dict(f, work=work, **slim_eval(config, work, osp.join(work, 'slim')))

    # the round methods search once, deep enough for the smallest level
    for name in [m for m in ROUND_METHODS if m in methods]:
        work = osp.join(work_root, name)
        print(f'== {name}: search', flush=True)
        search_cost.run_search(search_cost.load_cfg(config, work, dict(
            base, **SEARCH, **ROUND_METHODS[name])))
        rounds[name] = search_cost.rounds_of(work)
    theta0 = WorkDir(osp.join(work_root, next(iter(rounds)))).theta0 if rounds else None
    if theta0 is None:  # a run without round methods: theta0 from the dense reference
        search_cost.final_metric(config, osp.join(work_root, 'dense'), dict(seeded,
                                                                           method='dense'))
        theta0 = WorkDir(osp.join(work_root, 'dense')).theta0
    measure = Measure(search_cost.load_cfg(config, osp.join(work_root, 'tmp'), {}), theta0,
                      depth, level_input)
    for name, rs in rounds.items():
        for r in rs:
            r['macs'] = measure.macs(load_ticket(r['ticket']).masks)
        for level in levels:
            hit = min(rs, key=lambda r: abs(measure.level(r['macs']) - level))
            upto = [r for r in rs if r['round'] <= hit['round']]
            f = final(name, level, dict(method='mask', mask_from=hit['ticket']))
            rows.append(_row(name, level, f, hit['macs'], round=hit['round'],
                             samples=sum(r['samples'] for r in upto),
                             search_seconds=sum(r['seconds'] for r in upto)))
    def distilled(colt: dict) -> dict:  # the dense run's checkpoint as the teacher
        if not colt.pop('distill', False):
            return colt
        teacher = WorkDir(osp.join(work_root, 'dense')).final_masked
        if not osp.exists(teacher):
            print('== dense (the teacher)', flush=True)
            search_cost.final_metric(config, osp.join(work_root, 'dense'),
                                     dict(seeded, method='dense'))
        return dict(colt, distill=dict(teacher=teacher))

    widths = {}
    for name in [m for m in ONE_SHOT if m in methods or (m == 'oneshot-l1' and 'random' in
                                                            methods)]:
        for level in levels:
            ratio = measure.ratio_for(name, level, base)
            macs = measure.macs(measure.one_shot_mask(name, ratio, base))
            f = final(name, level, distilled(dict(ONE_SHOT[name], target_sparsity=ratio)))
            widths[(name, level)] = WorkDir(f['work']).final_ticket
            if name in methods:
                rows.append(_row(name, level, f, macs, ratio=ratio))
    for name in [m for m in PROGRESSIVE if m in methods]:
        for level in levels:
            own = dict(PROGRESSIVE[name])
            f = final(name, level, distilled(dict(
                own, method='progressive',
                progressive=dict(SCHEDULE, target_macs=level, input_size=tuple(level_input),
                                 **own.pop('progressive', {})))))
            widths[(name, level)] = WorkDir(f['work']).final_ticket
            rows.append(_row(name, level, f, measure.macs(
                load_ticket(WorkDir(f['work']).final_ticket).masks)))
    if 'scratch' in methods:
        for level in levels:
            src = next((m for m in SCRATCH_FROM if (m, level) in widths), None)
            if src is None:
                raise SystemExit(f'scratch takes the widths of one of {list(SCRATCH_FROM)}: '
                                 f'add one to --methods')
            f = final('scratch', level, dict(method='mask', mask_from=widths[(src, level)],
                                             init_ticket=None))
            rows.append(_row('scratch', level, f, measure.macs(
                load_ticket(WorkDir(f['work']).final_ticket).masks), widths_of=src))
    if 'random' in methods:
        for level in levels:
            src = widths[('oneshot-l1', level)]
            f = final('random', level, dict(method='random', random_from=src))
            rows.append(_row('random', level, f,
                             measure.macs(load_ticket(WorkDir(f['work']).final_ticket).masks)))
    dense = None
    if 'dense' in methods:
        print('== dense', flush=True)
        work = osp.join(work_root, 'dense')
        d = search_cost.final_metric(config, work, dict(seeded, method='dense'))
        dense = dict(d, params=sum(p.numel() for p in measure.model.parameters()),
                     macs_backbone=measure.dense['backbone'],
                     macs_backbone_neck=measure.dense['extract_feat'],
                     macs_detector=measure.dense['detector'],
                     macs_parts=measure.dense_parts)
    return dict(seed=seed, levels=levels, level_of=level_of, level_input=list(level_input),
                rows=rows, dense=dense,
                curves={n: [dict(round=r['round'], sparsity=r['sparsity'], macs=r['macs'],
                                 samples=r['samples']) for r in rs] for n, rs in rounds.items()})


def _row(method: str, level: float, f: dict, macs: dict, **extra) -> dict:
    return dict(method=method, level=level, metric=f['map50'], final_metric=f['metric'],
                params=f['params'], checkpoint_mb=f['checkpoint_mb'],
                macs_backbone=macs['backbone'], macs_backbone_neck=macs['extract_feat'],
                macs_detector=macs['detector'],
                **{f'macs_{p}': macs[p] for p in ('rpn_head', 'roi_head', 'level_input')
                   if p in macs},
                final_seconds=f['seconds'], work=f.get('work'), slim=f.get('slim'), **extra)


def aggregate(runs: Dict[int, dict]) -> List[dict]:
    """Mean and std over seeds of each (method, level) row present in every run
    (:func:`colt_det.report.stats.over_seeds`)."""
    from colt_det.report.stats import over_seeds
    return [row for _, row in over_seeds([res['rows'] for res in runs.values()],
                                         lambda r: (r['method'], r['level']), ('metric',))
            if row is not None]


def level_size(result: dict) -> Optional[tuple]:
    """(H, W) the result's levels were counted at where not the test scale
    (``--level-input``), else None."""
    size = tuple(result.get('level_input', INPUT))
    return None if size == INPUT else size


def table(result: dict) -> str:
    whole = all('macs_detector' in r for r in result['rows'])  # recorded since --groups
    at = level_size(result)
    lines = ['| method | level | backbone MACs | backbone+neck MACs | '
             + ('detector MACs | ' if whole else '')
             + (f'MACs at {at[1]} x {at[0]} | ' if at else '') + 'params | checkpoint MB | '
             'mAP@0.5 (slim) |', '|---|---|---|---|---|---|---|' + ('---|' if whole else '')
             + ('---|' if at else '')]
    for r in sorted(result['rows'], key=lambda r: (r['level'], METHODS.index(r['method']))):
        m = (f"{r['metric']:.4f} ± {r['metric_std']:.4f}" if 'metric_std' in r
             else f"{r['metric']:.4f}")
        lines.append(f"| {r['method']} | {r['level']:g} | {r['macs_backbone']:.3f}x | "
                     f"{r['macs_backbone_neck']:.3f}x | "
                     + (f"{r['macs_detector']:.3f}x | " if whole else '')
                     + (f"{r['macs_level_input']:.3f}x | " if at else '')
                     + f"{r['params']:,} | {r['checkpoint_mb']:.1f} | {m} |")
    d = result.get('dense')
    if d:
        m = (f"{d['metric']:.4f} ± {d['metric_std']:.4f}" if 'metric_std' in d
             else f"{d['metric']:.4f}")
        lines.append(f"| dense | - | 1.000x ({d['macs_backbone'] / 1e6:.1f} M) | 1.000x "
                     f"({d['macs_backbone_neck'] / 1e6:.1f} M) | "
                     + (f"1.000x ({d['macs_detector'] / 1e6:.1f} M) | " if whole else '')
                     + ('1.000x | ' if at else '') + f"{d['params']:,} | - | {m} |")
    return '\n'.join(lines)


# how a verdict names what a level is a fraction of, and the row's field with the fraction
_LEVEL_NAME = {'extract_feat': ('backbone+neck MACs', 'macs_backbone_neck'),
               'detector': ('whole-detector MACs', 'macs_detector')}


def verdicts(result: dict, margin: float = 0.01) -> List[str]:
    """Per level: the best slim ticket against dense, "within 1 point" decided by TOST on its
    paired interval, and the level's control pairs (random vs one-shot L1 at the same widths,
    channel COLT vs channel IMP, Torch-Pruning vs colt_det's best), Holm-adjusted over the
    level's comparisons (:func:`colt_det.report.stats.block`)."""
    from colt_det.report.stats import block, seed_values
    out = []
    d = result.get('dense')
    if not d:
        return out
    dense = seed_values(d)
    for level in result['levels']:
        rows = [r for r in result['rows'] if r['level'] == level]
        if not rows:
            continue
        best = max(rows, key=lambda r: r['metric'])
        by = {r['method']: r for r in rows}
        own = [r for r in rows if r['method'] in OWN]
        pairs = [('random', 'oneshot-l1', 'same widths'), ('channel-colt-N2', 'channel-imp', '')]
        if 'scratch' in by:
            pairs.append(('scratch', by['scratch']['widths_of'], 'same widths, reinitialised'))
        if own:
            pairs.append(('torch-pruning', max(own, key=lambda r: r['metric'])['method'],
                          "colt_det's best"))
        pairs = [(a, b, why) for a, b, why in pairs if a in by and b in by and a != b]
        values = {m: seed_values(r) for m, r in by.items()}
        lines = block([(values[best['method']], dense, margin)]
                      + [(values[a], values[b], None) for a, b, _ in pairs])
        what, field = _LEVEL_NAME[result.get('level_of', 'extract_feat')]
        if level_size(result):
            what, field = what + ' at {1} x {0}'.format(*level_size(result)), \
                'macs_level_input'
        out.append(f"{level:g}x {what}: best {best['method']} "
                   f"{best['metric']:.4f} (at {best[field]:.3f}x), vs dense "
                   f"{lines[0]}")
        out += [f'{level:g}x: {a} vs {b}' + (f' ({why})' if why else '') + f': {line}'
                for (a, b, why), line in zip(pairs, lines[1:])]
    return out


COMPARE = [('progressive-fisher', 'oneshot-l1bn', 'during training vs one-shot'),
           ('progressive-distill', 'oneshot-l1bn', 'progressive + distillation vs one-shot'),
           ('torch-pruning-taylor', 'torch-pruning', "Torch-Pruning's Taylor vs magnitude"),
           ('progressive-fisher', 'progressive-fisher-raw', 'MACs-normalised vs raw Fisher'),
           ('progressive-distill', 'progressive-fisher', 'distillation'),
           ('oneshot-l1bn-distill', 'oneshot-l1bn', 'distillation')]


def slim_verdicts(result: dict, margin: float = 0.01) -> List[str]:
    """Per level: every ticket against dense and the pairs of :data:`COMPARE`, as paired
    per-seed differences (the methods of a seed share theta0) with Holm's correction over the
    level's comparisons, and "within 1 point of dense" as a TOST equivalence statement
    (:mod:`colt_det.report.stats`)."""
    from colt_det.report.stats import block, seed_values
    d = result.get('dense')
    if not d:
        return []
    dense = seed_values(d)
    out = []
    for level in result['levels']:
        by = {r['method']: r for r in result['rows'] if r['level'] == level}
        pairs = [(m, 'dense', '') for m in METHODS if m in by]
        pairs += [(a, b, why) for a, b, why in COMPARE if a in by and b in by]
        if 'scratch' in by and by['scratch'].get('widths_of') in by:
            pairs.append(('scratch', by['scratch']['widths_of'], 'same widths, reinitialised'))
        values = {m: seed_values(r) for m, r in by.items()}
        values['dense'] = dense
        lines = block([(values[a], values[b], margin if b == 'dense' else None)
                       for a, b, _ in pairs])
        out += [f'{level:g}x: {a} vs {b}' + (f' ({why})' if why else '') + ': ' + line
                for (a, b, why), line in zip(pairs, lines)]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', default=CONFIG)
    parser.add_argument('--levels', type=float, nargs='+', default=[0.5, 0.33, 0.25])
    parser.add_argument('--seeds', type=int, nargs='+', default=[0])
    parser.add_argument('--methods', nargs='+', default=METHODS, choices=METHODS)
    parser.add_argument('--groups', default='deep', choices=sorted(LEVEL_OF),
                        help="the channel groups: 'deep' (backbone + neck; levels of their "
                             "MACs) or 'detector' (the heads too; levels of the whole "
                             "detector's MACs)")
    parser.add_argument('--level-input', type=int, nargs=2, default=list(INPUT),
                        metavar=('H', 'W'),
                        help='the input size at which a level\'s MACs are measured (default '
                             'the test scale; e.g. 608 1024 for the VOC scale a detector is '
                             'deployed at)')
    parser.add_argument('--work-root', default=osp.join(ROOT, 'work_dirs',
                                                        'bench_channels_det-hard'))
    parser.add_argument('--out', default=osp.join(ROOT, 'benchmarks', 'results',
                                                  'channel_tickets_det-hard.json'))
    args = parser.parse_args()
    from colt_det.core import atomic_write_json
    from colt_det.core.io import relative_paths
    started = time.time()
    base = search_cost.load_cfg(args.config, '/tmp', {})
    if base.get('demo_data'):  # the generated set, made where missing (a fresh clone)
        from colt_det.synthetic import ensure_demo_data
        ensure_demo_data(osp.join(ROOT, 'data', 'demo'), base.demo_data)
    pretrained = search_cost.ensure_pretrained(base.colt.init_ticket['path'],
                                               base.get('pretrain_config')) \
        if base.colt.get('init_ticket') else None
    runs = {s: run(sorted(args.levels, reverse=True), s,
                   osp.realpath(osp.join(args.work_root, f'seed_{s}'))
                   if len(args.seeds) > 1 else args.work_root, args.methods, args.config,
                   args.groups, tuple(args.level_input))
            for s in args.seeds}
    first = runs[args.seeds[0]]
    result = dict(first, config=args.config, channels=dict(CHANNELS, channel_groups=args.groups),
                  round_rate=ROUND_RATE,
                  input_size=INPUT, pretrained=pretrained, seeds=args.seeds,
                  total_seconds=round(time.time() - started, 1),
                  machine=dict(cpu_count=os.cpu_count()))
    if len(args.seeds) > 1:
        result['rows'] = aggregate(runs)
        result['runs'] = {str(s): r for s, r in runs.items()}
        if all(r['dense'] for r in runs.values()):
            values = [r['dense']['metric'] for r in runs.values()]
            result['dense'] = dict(first['dense'], metric=statistics.mean(values),
                                   per_seed=values, metric_std=statistics.stdev(values))
    os.makedirs(osp.dirname(args.out), exist_ok=True)
    atomic_write_json(args.out, relative_paths(result, ROOT))
    print(table(result))
    print('\n'.join(verdicts(result)))
    print('\n'.join(slim_verdicts(result)))
    print(f'JSON: {args.out}')


if __name__ == '__main__':
    main()
