"""Classification metrics."""
from typing import List

from mmengine.evaluator import BaseMetric

from ...registry import METRICS


@METRICS.register_module()
class TopKAccuracy(BaseMetric):
    """Top-1 accuracy (in [0, 1]) reported as ``accuracy/top1``."""

    default_prefix = 'accuracy'

    def process(self, data_batch, data_samples: List[dict]) -> None:
        self.results += [int(s['pred'] == s['gt']) for s in data_samples]

    def compute_metrics(self, results: list) -> dict:
        return dict(top1=sum(results) / max(len(results), 1))
