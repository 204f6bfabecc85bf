"""VOC mAP with class names taken from the dataset (right for subsets and custom classes)."""
from typing import List

import numpy as np
from mmdet.evaluation import VOCMetric
from mmdet.evaluation.functional import eval_map
from mmengine.registry import METRICS


@METRICS.register_module()
class ColtVOCMetric(VOCMetric):
    """:class:`mmdet.evaluation.VOCMetric` that names classes from ``dataset_meta['classes']``.

    mmdet's VOCMetric prints the 20 VOC names whenever the folder is called ``VOC2007`` or
    ``VOC2012``, even for other class lists. The numbers are unchanged; ``classwise=True`` also
    returns ``AP{thr}/<class>`` per class.

    Args:
        classwise (bool): add per-class APs to the returned metrics.
        **kwargs: :class:`VOCMetric` arguments (``eval_mode='11points'`` for VOC2007 test,
            ``'area'`` for VOC2012).
    """

    def __init__(self, classwise: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.classwise = classwise

    def compute_metrics(self, results: list) -> dict:
        meta = self._dataset_meta
        # without 'dataset_type', mmdet uses dataset_meta['classes'] as the names
        self._dataset_meta = {k: v for k, v in meta.items() if k != 'dataset_type'}
        try:
            out = super().compute_metrics(results)
            if self.classwise and self.metric == 'mAP':
                out.update(self._per_class(results))
        finally:
            self._dataset_meta = meta
        return out

    def _per_class(self, results: list) -> dict:
        gts, preds = zip(*results)
        classes: List[str] = list(self.dataset_meta['classes'])
        out = {}
        for thr in self.iou_thrs:
            _, per_class = eval_map(preds, gts, iou_thr=thr, dataset=classes, logger='silent',
                                    eval_mode=self.eval_mode, use_legacy_coordinate=True)
            for name, res in zip(classes, per_class):
                ap = float(np.asarray(res['ap']).item()) if res['num_gts'] > 0 else float('nan')
                out[f'AP{int(thr * 100):02d}/{name}'] = ap
        return out
