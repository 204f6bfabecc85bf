"""Running the matrix: resumable searches from one theta0, then one final training per point."""
import hashlib
import math
import os
import os.path as osp
import sys
from typing import Dict, List, Optional

from .matrix import (
    COLLAPSED,
    ONE_TRAINING,
    REACH_TOLERANCE,
    REWOUND,
    SEARCH_METHODS,
    reaches,
    resolve_schedule,
)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

def load_cfg(config: str, work_dir: str, colt: dict):
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(ROOT, config))
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        ds = cfg.get(key, {}).get('dataset') if cfg.get(key) else None
        for field in ('root', 'data_root'):  # configs use repo-relative data paths
            if ds is not None and isinstance(ds.get(field), str) and not osp.isabs(ds[field]):
                ds[field] = osp.join(ROOT, ds[field])
    cfg.work_dir = work_dir
    cfg.colt.update(colt)
    cfg.colt.progress_interval = 0
    return cfg


def run_search(cfg) -> dict:
    from colt_det.search import ColtSearch
    from colt_det.search.workdir import WorkDir
    return ColtSearch(cfg, resume=WorkDir(cfg.work_dir).started()).run()


def rounds_of(work_dir: str) -> List[dict]:
    """Per round: sparsity, seconds, samples, per-layer sparsity and Jaccard (ticket meta)."""
    from colt_det.core import read_ticket_meta
    from colt_det.runtime.records import StageRecord
    from colt_det.search.workdir import WorkDir
    work = WorkDir(work_dir)
    out, r = [], 1
    while osp.exists(work.round_ticket(r)):
        path = work.round_ticket(r)
        meta = read_ticket_meta(path)
        samples, i = 0, 0
        while osp.isdir(work.stage(r, i)):
            samples += StageRecord.read(work.stage_result(work.stage(r, i))).train_samples
            i += 1
        out.append(dict(round=r, ticket=path, sparsity=meta['sparsity'],
                        seconds=meta['seconds'], samples=samples,
                        per_layer_sparsity=meta['per_layer_sparsity'],
                        per_layer_jaccard=meta['overlap']['per_layer'],
                        mean_jaccard=meta['overlap']['mean_jaccard']))
        r += 1
    return out


def searched_to(work_dir: str) -> float:
    """The target_sparsity of the search in ``work_dir`` (0 where none has started)."""
    from colt_det.core import read_json
    from colt_det.search.workdir import WorkDir
    settings = WorkDir(work_dir).settings
    return read_json(settings)['target_sparsity'] if osp.exists(settings) else 0.0


def final_metric(config: str, work_dir: str, colt: dict) -> dict:
    """Train one ticket (or the dense model) on all classes with the final schedule."""
    cfg = load_cfg(config, work_dir, colt)
    summary = run_search(cfg)
    f = summary['final']
    return dict(sparsity=f['sparsity'], metric=f['metric'], seconds=f['seconds'],
                train_samples=f.get('train_samples'))


def points(name: str, rounds: List[dict], targets: List[float], config: str,
           work_root: str, seeded: dict, random_from: Optional[Dict[float, str]] = None,
           options: Optional[dict] = None) -> List[dict]:
    """One row per target: cost to reach it and the quality of that round's ticket."""
    rows = []
    for t in targets:
        hit = next((r for r in rounds if reaches(r['sparsity'], t)), None)
        if hit is None:
            rows.append(dict(method=name, target=t, reached=False))
            continue
        upto = [r for r in rounds if r['round'] <= hit['round']]
        per_layer = hit['per_layer_sparsity']
        if random_from is not None:
            colt = dict(method='random', random_from=random_from[t], **seeded)
        else:
            # the mask on the search's own theta0 (all of it, e.g. a pretrained BatchNorm)
            colt = dict(method='mask', mask_from=hit['ticket'], **(options or {}), **seeded)
        final = final_metric(config, osp.join(work_root, f'{name}_final_{t:g}'), colt)
        cost = 0 if random_from is not None else 1  # a random mask costs no search rounds
        samples = sum(r['samples'] for r in upto) * cost
        seconds = sum(r['seconds'] for r in upto) * cost
        rows.append(dict(
            method=name, target=t, reached=True, round=hit['round'] * cost,
            sparsity=final['sparsity'], samples=samples, seconds=seconds,
            metric=final['metric'], final_seconds=final['seconds'],
            total_samples=samples + (final['train_samples'] or 0),
            total_seconds=seconds + final['seconds'],
            min_layer_density=1.0 - max(per_layer.values()),
            collapsed_layers=[n for n, s in per_layer.items() if s >= COLLAPSED],
            per_layer_sparsity=per_layer,
            mean_jaccard=None if random_from is not None else hit['mean_jaccard'],
            per_layer_jaccard=hit['per_layer_jaccard'], ticket=hit['ticket']))
    return rows


def sha(path: str) -> str:
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()[:16]


def ensure_pretrained(ticket: str, pretrain_config: Optional[str]) -> dict:
    """The config's pretrained theta0 (``init_ticket``): trained first with ``pretrain_config``
    if it is not there yet; returns its file hash and the pretraining's test metric."""
    import subprocess

    from colt_det.core import read_json
    from colt_det.search.workdir import WorkDir
    path = osp.join(ROOT, ticket)
    if not osp.exists(path):
        if pretrain_config is None:
            sys.exit(f'error: the init_ticket {ticket} does not exist: train it first')
        print(f'== pretraining theta0: tools/train.py {pretrain_config}', flush=True)
        subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'train.py'),
                        osp.join(ROOT, pretrain_config)], cwd=ROOT, check=True)
    summary = WorkDir(osp.dirname(osp.dirname(path))).summary  # <work_dir>/tickets/final
    final = read_json(summary)['final'] if osp.exists(summary) else {}
    return dict(ticket=ticket, config=pretrain_config, sha256=sha(path),
                metric=final.get('metric'), seconds=final.get('seconds'))


def run_benchmark(config: str, targets: List[float], methods: List[str], work_root: str,
                  seed: Optional[int], scratch_config: Optional[str] = None,
                  options: Optional[Dict[str, dict]] = None) -> dict:
    """Every method of ``methods`` from one theta0 (``seed``, or the config's), to ``targets``;
    ``dense-scratch`` trains ``scratch_config`` (the config without its pretrained theta0);
    ``options[method]``: colt options of that method's search and final trainings."""
    from mmengine.config import Config

    from colt_det.search.workdir import WorkDir
    base = Config.fromfile(osp.join(ROOT, config))
    p = base.colt.get('prune_ratio', 0.2)
    seeded = {} if seed is None else dict(seed=seed)
    options = options or {}
    # the searches stop at the first round that reaches the highest target
    stop = dict(target_sparsity=round(max(targets) - REACH_TOLERANCE, 6), max_rounds=40,
                final_train=False, **seeded)
    rounds: Dict[str, List[dict]] = {}
    rows: List[dict] = []

    def search(name: str, colt: dict) -> None:
        work = osp.join(work_root, name)
        print(f'== {name}: search {colt}', flush=True)
        # a search run further before (by a run with higher --targets) is reused as it is:
        # a resumed search may raise its target, not lower it
        target = max(stop['target_sparsity'], searched_to(work))
        run_search(load_cfg(config, work, {**stop, 'prune_ratio': p,
                                           **resolve_schedule(colt, base),
                                           'target_sparsity': target}))
        rounds[name] = rounds_of(work)

    order = [m for m in methods if m in SEARCH_METHODS]
    if ('imp-matched' in methods or 'random' in methods) and 'colt-N2' not in order:
        order.insert(0, 'colt-N2')  # the matched rate and the random masks come from it
    for name in order:
        search(name, {**SEARCH_METHODS[name], **options.get(name, {})})
    matched = None
    if 'imp-matched' in methods:
        ref = next((r for r in rounds['colt-N2'] if r['sparsity'] >= 0.89 - 1e-9),
                   rounds['colt-N2'][-1])
        # COLT's mean per-round rate up to 89% (or its last round), rounded up, so that IMP at
        # this rate reaches COLT's sparsity in as many rounds
        matched = math.ceil((1.0 - (1.0 - ref['sparsity']) ** (1.0 / ref['round'])) * 1e4) / 1e4
        if abs(matched - p) < 0.005:
            print(f'== imp-matched: rate {matched} = p: the same run as imp, not repeated')
        else:
            search('imp-matched', dict(method='imp', num_partitions=1, prune_ratio=matched))

    theta0 = {n: sha(WorkDir(osp.join(work_root, n)).theta0) for n in rounds}
    if len(set(theta0.values())) > 1:
        sys.exit(f'error: the methods started from different theta0 {theta0}: use one config')

    for name in rounds:
        print(f'== {name}: final training of the ticket at each target', flush=True)
        rows += points(name, rounds[name], targets, config, work_root, seeded,
                       options=options.get(name))
    if 'random' in methods:
        tickets = {r['target']: r['ticket'] for r in rows
                   if r['method'] == 'colt-N2' and r['reached']}
        print('== random: masks with the per-layer sparsity of colt-N2', flush=True)
        rows += points('random', [x for x in rounds['colt-N2']], [t for t in targets
                                                                  if t in tickets],
                       config, work_root, seeded, random_from=tickets)
    for name in [m for m in ONE_TRAINING if m in methods or any(
            REWOUND.get(r) == m for r in methods)]:
        print(f'== {name}: one training per target ({ONE_TRAINING[name]})', flush=True)
        once = [one_training_point(name, config, work_root, t, seeded) for t in targets]
        rows += once if name in methods else []
        for rewound in [r for r, src in REWOUND.items() if src == name and r in methods]:
            print(f'== {rewound}: the {name} masks retrained from theta0', flush=True)
            rows += [rewound_point(rewound, row, config, work_root, seeded) for row in once]
    dense = dense_scratch = None
    if 'dense' in methods:
        print('== dense reference', flush=True)
        dense = final_metric(config, osp.join(work_root, 'dense'), dict(method='dense',
                                                                         **seeded))
    if 'dense-scratch' in methods:
        print('== dense from a random theta0', flush=True)
        dense_scratch = final_metric(scratch_config or config,
                                     osp.join(work_root, 'dense_scratch'),
                                     dict(method='dense', init_ticket=None, **seeded))
    return dict(config=config, seed=seed, prune_ratio=p, matched_rate=matched,
                targets=targets, theta0_sha256=next(iter(theta0.values()), None), dense=dense,
                dense_scratch=dense_scratch,
                rows=rows, curves={n: [dict(round=r['round'], sparsity=r['sparsity'],
                                            seconds=r['seconds'], samples=r['samples'],
                                            mean_jaccard=r['mean_jaccard'])
                                       for r in rs] for n, rs in rounds.items()},
                machine=dict(cpu_count=os.cpu_count()))


def one_training_point(name: str, config: str, work_root: str, target: float,
                       seeded: dict) -> dict:
    """A mask found in at most one training (one-shot, GMP) at ``target``: its final metric."""
    from colt_det.core import load_ticket, sparsity
    from colt_det.search.workdir import WorkDir
    work = osp.join(work_root, f'{name}_final_{target:g}')
    final = final_metric(config, work, dict(ONE_TRAINING[name], target_sparsity=target,
                                            **seeded))
    ticket = WorkDir(work).final_ticket
    per_layer = sparsity(load_ticket(ticket).masks).per_layer
    return dict(method=name, target=target, reached=True, round=0,
                sparsity=final['sparsity'], samples=0, seconds=0.0, metric=final['metric'],
                final_seconds=final['seconds'], total_samples=final['train_samples'] or 0,
                total_seconds=final['seconds'], min_layer_density=1.0 - max(per_layer.values()),
                collapsed_layers=[n for n, s in per_layer.items() if s >= COLLAPSED],
                per_layer_sparsity=per_layer, mean_jaccard=None, per_layer_jaccard=None,
                ticket=ticket)


def rewound_point(name: str, source: dict, config: str, work_root: str, seeded: dict) -> dict:
    """``source``'s mask retrained from theta0 with the final schedule; its cost adds up."""
    final = final_metric(config, osp.join(work_root, f"{name}_final_{source['target']:g}"),
                         dict(method='mask', mask_from=source['ticket'], **seeded))
    return dict(source, method=name, sparsity=final['sparsity'], metric=final['metric'],
                final_seconds=final['seconds'],
                total_samples=source['total_samples'] + (final['train_samples'] or 0),
                total_seconds=source['total_seconds'] + final['seconds'])
