"""ONNX export of a (slim) detector's tensor part: backbone + neck, and the RPN head's raw maps.

MMDetection 3.x has no ONNX path of its own (it moved to MMDeploy, whose two-stage graphs need
its custom-op library in onnxruntime). A Faster R-CNN's ``extract_feat`` (backbone + FPN) and
its RPN head's per-level ``(cls_score, bbox_pred)`` maps are plain convolutions: they export
with plain ``torch.onnx.export`` and run in stock onnxruntime. What follows them (proposal NMS,
RoIAlign, the box head) needs image metadata and data-dependent shapes and stays in PyTorch.
"""
import os.path as osp
from typing import List, Optional, Sequence, Tuple

import torch
from torch import nn

from ..core.io import written_through_temp

TOLERANCE = dict(rtol=1e-3, atol=1e-4)  # onnxruntime vs eager torch, float32 (tested)


class TensorPart(nn.Module):
    """The exportable part of a detector: ``extract_feat`` (+ the RPN head's raw maps).

    Args:
        detector (nn.Module): an MMDetection two-stage (or single-stage) detector.
        with_rpn (bool): also return the RPN head's per-level class and box maps.
    """

    def __init__(self, detector: nn.Module, with_rpn: bool = True) -> None:
        super().__init__()
        self.detector = detector
        self.with_rpn = with_rpn and getattr(detector, 'rpn_head', None) is not None

    def forward(self, image: torch.Tensor):
        feats = tuple(self.detector.extract_feat(image))
        if not self.with_rpn:
            return feats
        cls_scores, bbox_preds = self.detector.rpn_head(feats)
        return feats + tuple(cls_scores) + tuple(bbox_preds)

    def output_names(self, levels: int) -> List[str]:
        names = [f'feat_{i}' for i in range(levels)]
        if self.with_rpn:
            names += [f'rpn_cls_{i}' for i in range(levels)]
            names += [f'rpn_bbox_{i}' for i in range(levels)]
        return names


def input_size_of(cfg) -> Tuple[int, int]:
    """(H, W) of the config's test pipeline ``Resize`` (square scales as given), padded to the
    data preprocessor's ``pad_size_divisor``."""
    pipeline = cfg.test_dataloader.dataset.get('pipeline') or cfg.get('test_pipeline') or []
    scale = next((t['scale'] for t in pipeline if t.get('type') == 'Resize'), (800, 1333))
    w, h = (scale, scale) if isinstance(scale, int) else (max(scale), min(scale))
    div = cfg.model.get('data_preprocessor', {}).get('pad_size_divisor', 32) or 1
    return -(-h // div) * div, -(-w // div) * div


def load_detector(config: str, checkpoint: str) -> Tuple[nn.Module, object]:
    """The model of ``config`` with ``checkpoint``'s weights (strict), in eval mode."""
    from mmengine.config import Config
    from mmengine.runner import load_checkpoint

    from ..tasks.base import task_of
    cfg = Config.fromfile(config)
    model = task_of(cfg).build_model(cfg)
    load_checkpoint(model, checkpoint, map_location='cpu', strict=True, logger='silent')
    return model.eval(), cfg


def export_onnx(config: str, checkpoint: str, out: str,
                input_size: Optional[Sequence[int]] = None, with_rpn: bool = True,
                overwrite: bool = False, opset: int = 17, dynamic: bool = False) -> str:
    """Write the detector's tensor part (:class:`TensorPart`) as ONNX, batch 1.

    Args:
        config (str): the (slim) model's config.
        checkpoint (str): its checkpoint.
        out (str): the ``.onnx`` file (written whole, never over an existing one unless
            ``overwrite``).
        input_size (Sequence[int], optional): (H, W) traced; default the test pipeline's.
        with_rpn (bool): include the RPN head's raw maps.
        opset (int): the ONNX opset.
        dynamic (bool): the image's batch, height and width are dynamic axes (the part then
            runs on test images of any size, e.g. VOC's aspect ratios).

    Returns:
        str: ``out``.
    """
    if osp.exists(out) and not overwrite:
        raise FileExistsError(f'{out} exists and is not overwritten: choose another path or '
                              f'pass --force')
    model, cfg = load_detector(config, checkpoint)
    h, w = input_size or input_size_of(cfg)
    part = TensorPart(model, with_rpn)
    x = torch.randn(1, 3, int(h), int(w))
    with torch.no_grad():
        levels = len(tuple(model.extract_feat(x)))
    names = part.output_names(levels)
    axes = dict({'image': {0: 'batch', 2: 'height', 3: 'width'}},
                **{n: {0: 'batch', 2: f'{n}_h', 3: f'{n}_w'} for n in names}) if dynamic else None
    with written_through_temp(out, overwrite) as tmp, torch.no_grad():
        torch.onnx.export(part, (x,), tmp, dynamo=False, opset_version=opset,
                          input_names=['image'], output_names=names,
                          do_constant_folding=True, dynamic_axes=axes)
    return out


def onnx_session(path: str, threads: Optional[int] = None):
    """An onnxruntime CPU session of ``path`` (``threads``: intra-op threads)."""
    import onnxruntime as ort
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    return ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])
