"""Testing a trained model (checkpoint or final ticket) with a config's test set."""
import copy
import os
import os.path as osp
import pickle
import tempfile
from typing import Callable, Dict, Optional, Tuple

import torch
from mmengine.config import Config
from torch import nn

from ..core.apply import unwrap
from ..core.ticket import check_safetensors_header
from .checkpoints import checkpoint_from_ticket
from .runner import build_quiet_runner, release_runner, without_code_formatting


def test_checkpoint(cfg: Config, checkpoint: str, work_dir: Optional[str] = None,
                    model_hook: Optional[Callable[[nn.Module], None]] = None
                    ) -> Tuple[Dict[str, float], nn.Module]:
    """``Runner.test()`` of ``cfg`` (its test dataloader and evaluator) on ``checkpoint``.

    Args:
        cfg (Config): the config (its ``colt`` block and custom hooks are ignored).
        checkpoint (str): an MMEngine checkpoint (``final_masked.pth``, a slim export) or a
            final ticket (``tickets/final.safetensors``).
        work_dir (str, optional): where MMEngine's logs go (default: a temp dir, removed).
        model_hook (callable, optional): called with the loaded model before the test pass
            (e.g. :func:`colt_det.deploy.int8.onnx_features`: a part run by onnxruntime).

    Returns:
        (metrics, the tested model)
    """
    config = cfg.filename or 'the config'
    with tempfile.TemporaryDirectory(prefix='colt_eval_') as tmp:
        if checkpoint.endswith('.safetensors'):
            check_safetensors_header(checkpoint)
            checkpoint = checkpoint_from_ticket(checkpoint, osp.join(tmp, 'ticket.pth'))
        if not osp.isfile(checkpoint):
            raise FileNotFoundError(f'checkpoint {checkpoint} not found: pass final_masked.pth '
                                    f'or tickets/final.safetensors of a finished run')
        cfg = without_code_formatting(copy.deepcopy(cfg))
        cfg.pop('colt', None)
        cfg.work_dir = work_dir or tmp
        cfg.load_from = None  # loaded below, after its keys were checked against the model
        cfg.resume = False
        cfg.experiment_name = f'eval_{os.getpid()}_{id(cfg)}'
        cfg.custom_hooks = []
        state = read_weights(checkpoint)
        runner = build_quiet_runner(cfg)
        try:
            check_fits(unwrap(runner.model), state, checkpoint, config)
            runner.load_checkpoint(checkpoint)
            if model_hook is not None:
                model_hook(unwrap(runner.model))
            metrics = dict(runner.test())
        finally:
            release_runner(runner)
    return {k: float(v) for k, v in metrics.items()}, runner.model


def read_weights(checkpoint: str) -> Dict[str, torch.Tensor]:
    """The state dict of an MMEngine checkpoint (allow-listed types only)."""
    try:
        ckpt = torch.load(checkpoint, map_location='cpu', weights_only=True)
    except pickle.UnpicklingError:
        raise ValueError(f'checkpoint {checkpoint} holds objects that are not plain weights '
                         f'and was not loaded (unpickling can run code): use a checkpoint '
                         f'colt_det or mmdet wrote, or a .safetensors ticket') from None
    except (RuntimeError, EOFError) as e:
        raise ValueError(f'checkpoint {checkpoint} cannot be read ({str(e).splitlines()[0]}): '
                         f'it is truncated or not a checkpoint; re-export it') from None
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict):
        raise ValueError(f'{checkpoint} holds no state_dict: pass an MMEngine checkpoint')
    return {k[len('module.'):] if k.startswith('module.') else k: v for k, v in state.items()}


def check_fits(model: nn.Module, state: Dict[str, torch.Tensor], checkpoint: str,
               config: str, fix: str = 'evaluate it with the config it was trained with'
               ) -> None:
    """A checkpoint of another model is an error naming both, not an untrained model's score
    (MMEngine only warns about missing and unexpected keys)."""
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    wrong = [k for k in own if k in state and tuple(own[k].shape) != tuple(state[k].shape)]
    if missing or unexpected or wrong:
        parts = [f'{len(v)} {what} (e.g. {v[:2]})' for what, v in (
            ('missing', missing), ('unexpected', unexpected), ('of another shape', wrong)) if v]
        raise ValueError(f'checkpoint {checkpoint} does not fit the model of {config}: '
                         f'{"; ".join(parts)} keys: {fix}')


TEACHER_FIX = ('colt.distill.teacher must be a checkpoint of the student\'s architecture (the '
                'dense parent)')


def load_teacher(runner, checkpoint: str, student: nn.Module) -> nn.Module:
    """The teacher of a distilled stage: the stage's model config built anew with
    ``checkpoint``'s weights (strict: another architecture is an error naming both), on the
    student's device, in eval mode, without gradients."""
    state = read_weights(checkpoint)
    teacher = runner.build_model(copy.deepcopy(runner.cfg.model))
    check_fits(teacher, state, checkpoint, 'the student', TEACHER_FIX)
    teacher.load_state_dict(state, strict=True)
    device = next(student.parameters()).device
    teacher.to(device).eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    return teacher
