"""Evaluate a detector checkpoint or ticket: VOC mAP (11-point and area), per-class AP, COCO AP.

One test pass produces the predictions; every metric is computed on those same predictions.
"""
import copy
import os.path as osp
from typing import Callable, Dict, Optional

from mmengine.config import Config

from ...core import PrunableSpec, sparsity
from ...runtime.evaluate import test_checkpoint
from .datasets import leaf_dataset_cfgs


def _add_instances_to_meta(pipeline) -> None:
    """CocoMetric without an annotation file reads ground truth from ``instances``."""
    for t in pipeline or []:
        if t.get('type') == 'PackDetInputs':
            keys = tuple(t.get('meta_keys', ('img_id', 'img_path', 'ori_shape', 'img_shape',
                                             'scale_factor', 'flip', 'flip_direction')))
            if 'instances' not in keys:
                t['meta_keys'] = keys + ('instances', )


def evaluate_detector(cfg: Config, checkpoint: str, work_dir: Optional[str] = None,
                      coco: bool = True, predictions_out: Optional[str] = None,
                      show_dir: Optional[str] = None,
                      model_hook: Optional[Callable] = None) -> Dict[str, float]:
    """Test ``checkpoint`` (``.pth`` or final ticket) with the config's test set.

    Args:
        cfg (Config): a detection config (its ``colt.prunable`` says what sparsity counts).
        checkpoint (str): ``final_masked.pth``, any MMEngine checkpoint, or a final ticket.
        work_dir (str, optional): where MMEngine's logs go (default: a temp dir, removed after).
        coco (bool): also compute COCO-style AP with pycocotools.
        predictions_out (str, optional): ``.pkl`` of the predictions, as mmdet's
            ``tools/test.py --out`` writes it.
        show_dir (str, optional): draw the detections of every test image here.
        model_hook (callable, optional): called with the loaded model before the test pass
            (``colt-test --onnx``: the backbone + neck run by onnxruntime).

    Returns:
        dict: ``voc07/mAP`` (11-point), ``voc_area/mAP`` (area), per-class ``voc07/AP50/<cls>``,
        COCO ``coco/bbox_mAP``, ``coco/bbox_mAP_50``, ``coco/bbox_mAP_75`` and the sparsity of
        the prunable weights (``sparsity``).
    """
    cfg = copy.deepcopy(cfg)
    for ds in leaf_dataset_cfgs(cfg.test_dataloader.dataset):
        _add_instances_to_meta(ds.get('pipeline'))
    voc = dict(type='colt_det.ColtVOCMetric', metric='mAP')
    evaluators = [dict(voc, eval_mode='11points', classwise=True, prefix='voc07'),
                  dict(voc, eval_mode='area', prefix='voc_area')]
    if coco:
        evaluators.append(dict(type='CocoMetric', metric='bbox', ann_file=None, prefix='coco'))
    if predictions_out:
        evaluators.append(dict(type='DumpDetResults', out_file_path=predictions_out))
    cfg.test_evaluator = evaluators
    if show_dir:
        cfg.default_hooks.visualization = dict(type='DetVisualizationHook', draw=True,
                                               test_out_dir=osp.abspath(show_dir))
    metrics, model = test_checkpoint(cfg, checkpoint, work_dir, model_hook)
    names = PrunableSpec.from_cfg(cfg.get('colt', {}).get('prunable')).select(model)
    params = dict(model.named_parameters())
    metrics['sparsity'] = sparsity({n: params[n].detach() != 0 for n in names}).overall
    return metrics


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
