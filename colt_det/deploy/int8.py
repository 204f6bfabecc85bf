"""INT8 of a detector's ONNX part: onnxruntime static quantization, calibrated on its training
images, and the test pass with that part run by onnxruntime.

What a CPU user reaches for first: ``onnxruntime.quantization.quantize_static`` (QDQ format,
per-channel int8 weights, uint8 activations, MinMax calibration) of the backbone + neck (+ RPN
maps) that :func:`~colt_det.deploy.onnx.export_onnx` writes. Calibration inputs are training
images as the part sees them at test time: the test pipeline, then the detector's data
preprocessor. :func:`onnx_features` puts an onnxruntime session in place of the detector's
``extract_feat`` for a test pass, so the mAP of the fp32 or INT8 part is measured by the same
evaluation as the PyTorch model's (``colt-test CONFIG CKPT --onnx PART.onnx``).
"""
import copy
import os.path as osp
from typing import Callable, List, Optional

import numpy as np
import torch

from ..core.io import written_through_temp
from .onnx import onnx_session


def _with_test_pipeline(dataset_cfg, pipeline):
    """The dataset config with its (innermost) pipeline replaced."""
    ds = copy.deepcopy(dataset_cfg)
    leaf = ds
    while 'pipeline' not in leaf and ('dataset' in leaf or 'datasets' in leaf):
        leaf = leaf['dataset'] if 'dataset' in leaf else leaf['datasets'][0]
    leaf['pipeline'] = copy.deepcopy(pipeline)
    return leaf


def calibration_inputs(cfg, model, count: int = 32) -> List[np.ndarray]:
    """The first ``count`` training images, each a (1, 3, H, W) float32 array as the exported
    part receives it at test time (test pipeline + ``model.data_preprocessor``).

    Args:
        cfg (Config): the detector's config (its train dataset, its test pipeline).
        model (nn.Module): the detector (its data preprocessor normalises and pads).
        count (int): how many images (fewer if the training set is smaller).
    """
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import DATASETS

    from ..tasks.base import task_of
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise ValueError(f'--calib-images must be an integer >= 1, got {count!r}')
    pipeline = cfg.test_dataloader.dataset.get('pipeline') or cfg.get('test_pipeline')
    if not pipeline:
        raise ValueError('the config has no test pipeline (test_dataloader.dataset.pipeline): '
                         'calibration images are prepared as test images are')
    with task_of(cfg).scope(cfg):
        dataset = DATASETS.build(_with_test_pipeline(cfg.train_dataloader.dataset, pipeline))
    out = []
    with torch.no_grad():
        for i in range(min(count, len(dataset))):
            batch = model.data_preprocessor(pseudo_collate([dataset[i]]), False)
            out.append(batch['inputs'].detach().cpu().numpy().astype(np.float32))
    if not out:
        raise ValueError('the training set is empty: no calibration images')
    return out


def quantize_int8(fp32_onnx: str, out: str, inputs: List[np.ndarray],
                  overwrite: bool = False) -> str:
    """Static INT8 (QDQ, per-channel weights) of ``fp32_onnx``, calibrated on ``inputs``.

    Args:
        fp32_onnx (str): the float ONNX part (:func:`~colt_det.deploy.onnx.export_onnx`).
        out (str): the quantized model's path (written whole; never over an existing file
            unless ``overwrite``).
        inputs (List[ndarray]): calibration inputs of the part's ``image`` input.

    Returns:
        str: ``out``.
    """
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    if osp.exists(out) and not overwrite:
        raise FileExistsError(f'{out} exists and is not overwritten: choose another path or '
                              f'pass --force')

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.it = iter([{'image': x} for x in inputs])

        def get_next(self):
            return next(self.it, None)
    with written_through_temp(out, overwrite) as tmp:
        quantize_static(fp32_onnx, tmp, Reader(), quant_format=QuantFormat.QDQ,
                        per_channel=True, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8)
    return out


def onnx_features(path: str, threads: Optional[int] = None) -> Callable:
    """A model hook for a test pass: the detector's ``extract_feat`` replaced by the ONNX part
    at ``path`` run in onnxruntime (its ``feat_*`` outputs; the rest stays in PyTorch)."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'ONNX part {path} not found: write it with colt-export ... '
                                f'--onnx')
    session = onnx_session(path, threads)
    names = [o.name for o in session.get_outputs() if o.name.startswith('feat_')]
    shape = session.get_inputs()[0].shape
    if not names:
        raise ValueError(f'{path} has no feat_* outputs: it is not a part colt-export wrote')

    def hook(model) -> None:
        def extract_feat(batch_inputs: torch.Tensor):
            x = batch_inputs.detach().cpu().numpy().astype(np.float32)
            fixed = [d for d in shape[2:] if isinstance(d, int)]
            if len(fixed) == 2 and tuple(fixed) != tuple(x.shape[2:]):
                raise ValueError(f'{path} takes {fixed[0]}x{fixed[1]} images, this test '
                                 f'batch is {x.shape[2]}x{x.shape[3]}: export the part with '
                                 f'--dynamic-size')
            feed = session.get_inputs()[0].name
            if shape[0] == 1 and x.shape[0] > 1:  # a batch-1 part: one image at a time
                parts = [session.run(names, {feed: x[i:i + 1]}) for i in range(x.shape[0])]
                outs = [np.concatenate(level) for level in zip(*parts)]
            else:
                outs = session.run(names, {feed: x})
            return tuple(torch.from_numpy(o).to(batch_inputs.device) for o in outs)
        model.extract_feat = extract_feat
    return hook
