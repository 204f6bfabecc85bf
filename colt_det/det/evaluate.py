"""Evaluate a detector checkpoint or ticket: VOC mAP (11-point and area), per-class AP, COCO AP.

One test pass produces the predictions; every metric is computed on those same predictions.
"""
import copy
import os
import os.path as osp
import tempfile
from typing import Dict, Optional

from mmengine.config import Config

from ..core import PrunableSpec, sparsity
from ..core.ticket import check_safetensors_header
from ..engine.state import checkpoint_from_ticket
from .task import leaf_dataset_cfgs


def _add_instances_to_meta(pipeline) -> None:
    """CocoMetric without an annotation file reads ground truth from ``instances``."""
    for t in pipeline or []:
        if t.get('type') == 'PackDetInputs':
            keys = tuple(t.get('meta_keys', ('img_id', 'img_path', 'ori_shape', 'img_shape',
                                             'scale_factor', 'flip', 'flip_direction')))
            if 'instances' not in keys:
                t['meta_keys'] = keys + ('instances', )


def evaluate_detector(cfg: Config, checkpoint: str, work_dir: Optional[str] = None,
                      coco: bool = True) -> Dict[str, float]:
    """Test ``checkpoint`` (``.pth`` or final ticket) with the config's test set.

    Returns:
        dict: ``voc07/mAP`` (11-point), ``voc_area/mAP`` (area), per-class ``voc07/AP50/<cls>``,
        COCO ``coco/bbox_mAP``, ``coco/bbox_mAP_50``, ``coco/bbox_mAP_75`` and the sparsity of
        the prunable weights (``sparsity``).
    """
    from mmengine.runner import Runner
    cfg = copy.deepcopy(cfg)
    colt = cfg.pop('colt', {}) or {}
    tmp = None
    if checkpoint.endswith('.safetensors'):
        check_safetensors_header(checkpoint)
        tmp = tempfile.mkdtemp(prefix='colt_eval_')
        checkpoint = checkpoint_from_ticket(checkpoint, osp.join(tmp, 'ticket.pth'))
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint {checkpoint} not found: pass final_masked.pth or '
                                f'tickets/final.safetensors of a finished run')
    cfg.work_dir = work_dir or tmp or tempfile.mkdtemp(prefix='colt_eval_')
    cfg.load_from = checkpoint
    cfg.resume = False
    cfg.experiment_name = f'eval_{os.getpid()}_{id(cfg)}'
    for ds in leaf_dataset_cfgs(cfg.test_dataloader.dataset):
        _add_instances_to_meta(ds.get('pipeline'))
    evaluators = [dict(type='ColtVOCMetric', metric='mAP', eval_mode='11points', classwise=True,
                       prefix='voc07'),
                  dict(type='ColtVOCMetric', metric='mAP', eval_mode='area', prefix='voc_area')]
    if coco:
        evaluators.append(dict(type='CocoMetric', metric='bbox', ann_file=None, prefix='coco'))
    cfg.test_evaluator = evaluators
    cfg.custom_hooks = []
    runner = Runner.from_cfg(cfg)
    metrics = dict(runner.test())
    spec = PrunableSpec.from_cfg(colt.get('prunable'))
    model = runner.model
    names = spec.select(model)
    params = dict(model.named_parameters())
    metrics['sparsity'] = sparsity({n: params[n].detach() != 0 for n in names}).overall
    return {k: float(v) for k, v in metrics.items()}


def format_metrics(metrics: Dict[str, float]) -> str:
    """Summary lines + a per-class AP50 table."""
    lines = [f"VOC mAP@0.5 (11-point) {metrics.get('voc07/mAP', float('nan')):.4f}   "
             f"(area) {metrics.get('voc_area/mAP', float('nan')):.4f}   "
             f"sparsity {metrics.get('sparsity', float('nan')):.2%}"]
    if 'coco/bbox_mAP' in metrics:
        lines.append(f"COCO-style AP {metrics['coco/bbox_mAP']:.4f}  "
                     f"AP50 {metrics['coco/bbox_mAP_50']:.4f}  "
                     f"AP75 {metrics['coco/bbox_mAP_75']:.4f}")
    per_class = {k.split('/', 2)[2]: v for k, v in metrics.items()
                 if k.startswith('voc07/AP50/')}
    if per_class:
        width = max(len(c) for c in per_class)
        lines.append(f"{'class':<{width}}  AP50 (11-point)")
        lines += [f'{c:<{width}}  {v:.4f}' for c, v in per_class.items()]
    return '\n'.join(lines)
