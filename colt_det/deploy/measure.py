"""What a deployed detector costs: multiply-accumulates of its tensor part, and latency that can
be trusted (batch 1, warm-up, the median of many runs, repeated, models interleaved)."""
import statistics
import time
from typing import Callable, Dict, List, Optional, Sequence

import torch
from torch import nn

from ..core.channel_cost import ratio_for_macs  # noqa: F401 (the benchmarks' import)
from .onnx import TensorPart


def feature_macs(detector: nn.Module, input_size: Sequence[int], part: str = 'extract_feat'
                 ) -> int:
    """Multiply-accumulates of one image through ``part``: ``'extract_feat'`` (backbone +
    neck) or ``'backbone'`` (MMEngine's complexity analysis, which reports MACs as "flops")."""
    from mmengine.analysis import get_model_complexity_info
    from mmengine.logging import MMLogger
    module = TensorPart(detector, with_rpn=False) if part == 'extract_feat' else getattr(
        detector, part)
    module.eval()  # (mmdet's ResNet.train() returns None: not chained)
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel('ERROR')  # its notes on untraced heads and parameter-free ops
    try:
        info = get_model_complexity_info(module, inputs=(torch.randn(1, 3, *input_size),),
                                         show_table=False, show_arch=False)
    finally:
        logger.setLevel(level)
    return int(info['flops'])


def detector_macs(detector: nn.Module, input_size: Sequence[int],
                  proposals: Optional[int] = None) -> Dict[str, int]:
    """Multiply-accumulates of the whole detector on one image, by part (``backbone``,
    ``neck``, ``rpn_head``, ``roi_head``, ...) and ``total``: its heads with ``proposals`` RoIs
    (default: its test-time count, :func:`~colt_det.core.prunable.test_proposals`), RoI
    pooling, anchors and NMS aside (no multiply-accumulates of a layer). MMEngine's complexity
    analysis of the traced whole detector."""
    from mmengine.analysis import FlopAnalyzer

    from ..core.prunable import WholeDetector, detector_inputs, test_proposals
    count = test_proposals(detector) if proposals is None else proposals
    module = WholeDetector(detector).eval()
    inputs = detector_inputs(detector, torch.randn(1, 3, *input_size), count)
    analyzer = FlopAnalyzer(module, inputs).unsupported_ops_warnings(False) \
        .uncalled_modules_warnings(False)
    by = analyzer.by_module()
    out = {part: int(by[part]) for part in ('backbone', 'neck', 'rpn_head', 'bbox_head',
                                            'roi_head') if by.get(part)}
    out['total'] = int(analyzer.total())
    return out


def interleaved_latency(runners: Dict[str, Callable[[], None]], runs: int = 50, warmup: int = 5,
                        repeats: int = 3) -> Dict[str, dict]:
    """Seconds per call of each runner: ``repeats`` rounds, each running every runner in turn
    (so a drift of the machine hits all alike) ``warmup`` times, then ``runs`` timed calls.

    Returns:
        dict: name -> ``median`` (the median of the rounds' medians), ``spread`` (max - min of
        the rounds' medians) and ``medians`` (one per round), in seconds.
    """
    medians: Dict[str, List[float]] = {n: [] for n in runners}
    for _ in range(repeats):
        for name, run in runners.items():
            for _ in range(warmup):
                run()
            times = []
            for _ in range(runs):
                t = time.perf_counter()
                run()
                times.append(time.perf_counter() - t)
            medians[name].append(statistics.median(times))
    return {n: dict(median=statistics.median(m), spread=max(m) - min(m), medians=m)
            for n, m in medians.items()}
