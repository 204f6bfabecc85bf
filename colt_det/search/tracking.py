"""A search's figures in MMEngine's experiment trackers (the config's ``visualizer``).

Every round's sparsity, overlap, partition metrics, images processed and seconds, and the final
ticket's metric, go to the backends of ``cfg.visualizer.vis_backends`` with the round as the
step, through one search-level :class:`mmengine.visualization.Visualizer` (files under
``<work_dir>/tracking``). A config opts in with one line, e.g.::

    visualizer = dict(type='Visualizer', vis_backends=[dict(type='LocalVisBackend'),
                                                       dict(type='TensorboardVisBackend')])

Weights & Biases (``WandbVisBackend``) gets one run per stage and one for the search, grouped
by the work dir's name (``stage_cfg`` sets ``group``/``name`` where the config does not).
Without a ``visualizer`` in the config nothing is tracked.
"""
import copy
import os.path as osp
from typing import Dict, Optional

from mmengine.dist import is_main_process

from .context import SearchContext

_OPEN: Dict[str, object] = {}  # work dir -> its search-level Visualizer


def wandb_grouped(backends: list, group: str, name: str) -> list:
    """``backends`` with every W&B backend grouped per search and named per run."""
    out = []
    for b in copy.deepcopy(list(backends)):
        if str(b.get('type', '')).endswith('WandbVisBackend'):
            init = dict(b.get('init_kwargs') or {})
            init.setdefault('group', group)
            init.setdefault('name', name)
            init.setdefault('reinit', True)  # one run per stage in one process
            b['init_kwargs'] = init
        out.append(b)
    return out


def _visualizer(ctx: SearchContext):
    backends = (ctx.cfg.get('visualizer') or {}).get('vis_backends')
    if not backends or not is_main_process():
        return None
    if ctx.work.root not in _OPEN:
        from mmengine.visualization import Visualizer
        group = osp.basename(ctx.work.root)
        _OPEN[ctx.work.root] = Visualizer(
            name=f'colt_search_{len(_OPEN)}_{group}', save_dir=ctx.work.path('tracking'),
            vis_backends=wandb_grouped(backends, group, 'search'))
    return _OPEN[ctx.work.root]


def track_round(ctx: SearchContext, record: dict) -> None:
    """Round ``record`` (the summary's) as scalars at step ``round``."""
    vis = _visualizer(ctx)
    if vis is None:
        return
    scalars = {'colt/sparsity': record['sparsity'], 'colt/seconds': record['seconds'],
               'colt/mean_jaccard': record['overlap']['mean_jaccard'],
               'colt/images': sum(p.get('train_samples') or 0 for p in record['partitions'])}
    for p in record['partitions']:
        if p['metric'] is not None:
            scalars[f"colt/partition_{p['index']}/{ctx.metric_key}"] = p['metric']
    vis.add_scalars(scalars, step=record['round'])


def track_final(ctx: SearchContext, final: Optional[dict], step: int) -> None:
    """The final ticket's sparsity and metric, at the step after the last round."""
    vis = _visualizer(ctx)
    if vis is None or not final:
        return
    scalars = {'colt/final_sparsity': final['sparsity']}
    if final.get('metric') is not None:
        scalars[f'colt/final/{ctx.metric_key}'] = final['metric']
    vis.add_scalars(scalars, step=step)


def close_tracking(ctx: SearchContext) -> None:
    """Flush and close the search's backends (W&B finishes its run)."""
    vis = _OPEN.pop(ctx.work.root, None)
    if vis is not None:
        vis.close()
