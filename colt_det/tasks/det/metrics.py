"""VOC mAP with class names taken from the dataset (right for subsets and custom classes)."""
from collections import OrderedDict
from typing import List

import numpy as np
from mmdet.evaluation import VOCMetric
from mmdet.evaluation.functional import eval_map

from ...registry import METRICS


@METRICS.register_module()
class ColtVOCMetric(VOCMetric):
    """:class:`mmdet.evaluation.VOCMetric` that names classes from ``dataset_meta['classes']``.

    mmdet's VOCMetric prints the 20 VOC names whenever the folder is called ``VOC2007`` or
    ``VOC2012``, even for other class lists. The numbers are those of VOCMetric (the same
    ``eval_map`` call); ``classwise=True`` also returns ``AP{thr}/<class>`` per class from it.

    Args:
        classwise (bool): add per-class APs to the returned metrics.
        **kwargs: :class:`VOCMetric` arguments (``eval_mode='11points'`` for VOC2007 test,
            ``'area'`` for VOC2012).
    """

    def __init__(self, classwise: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.classwise = classwise

    def compute_metrics(self, results: list) -> dict:
        if self.metric != 'mAP':
            return super().compute_metrics(results)
        from mmengine.logging import MMLogger
        logger = MMLogger.get_current_instance()
        gts, preds = zip(*results)
        classes: List[str] = list(self.dataset_meta['classes'])
        out, mean_aps = OrderedDict(), []
        for thr in self.iou_thrs:  # one eval_map per IoU threshold: the mean and each class
            mean_ap, per_class = eval_map(preds, gts, scale_ranges=self.scale_ranges, iou_thr=thr,
                                          dataset=classes, logger=logger,
                                          eval_mode=self.eval_mode, use_legacy_coordinate=True)
            mean_aps.append(mean_ap)
            out[f'AP{int(thr * 100):02d}'] = round(mean_ap, 3)
            if self.classwise:
                for name, res in zip(classes, per_class):
                    ap = float(np.asarray(res['ap']).item()) if res['num_gts'] > 0 else float('nan')
                    out[f'AP{int(thr * 100):02d}/{name}'] = ap
        out['mAP'] = sum(mean_aps) / len(mean_aps)
        out.move_to_end('mAP', last=False)
        return out
