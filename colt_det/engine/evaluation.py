"""Testing a trained model (checkpoint or final ticket) with a config's test set."""
import copy
import os
import os.path as osp
import pickle
import tempfile
from typing import Dict, Optional, Tuple

from mmengine.config import Config
from torch import nn

from ..core.ticket import check_safetensors_header
from .lifecycle import build_quiet_runner, release_runner, without_code_formatting
from .state import checkpoint_from_ticket


def test_checkpoint(cfg: Config, checkpoint: str,
                    work_dir: Optional[str] = None) -> Tuple[Dict[str, float], nn.Module]:
    """``Runner.test()`` of ``cfg`` (its test dataloader and evaluator) on ``checkpoint``.

    Args:
        cfg (Config): the config (its ``colt`` block and custom hooks are ignored).
        checkpoint (str): an MMEngine checkpoint (``final_masked.pth``, a slim export) or a
            final ticket (``tickets/final.safetensors``).
        work_dir (str, optional): where MMEngine's logs go (default: a temp dir, removed).

    Returns:
        (metrics, the tested model)
    """
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
        cfg.load_from = checkpoint
        cfg.resume = False
        cfg.experiment_name = f'eval_{os.getpid()}_{id(cfg)}'
        cfg.custom_hooks = []
        runner = build_quiet_runner(cfg)
        try:
            metrics = dict(runner.test())
        except pickle.UnpicklingError:
            raise ValueError(f'checkpoint {checkpoint} holds objects that are not plain weights '
                             f'and was not loaded (unpickling can run code): use a checkpoint '
                             f'colt_det or mmdet wrote, or a .safetensors ticket') from None
        finally:
            release_runner(runner)
    return {k: float(v) for k, v in metrics.items()}, runner.model
