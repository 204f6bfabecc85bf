"""Starting torch.distributed for MMEngine Runners, on GPUs and on CPU-only machines.

MMEngine's ``init_dist`` calls ``torch.cuda.set_device``, which fails without a GPU. On a CPU
machine the process group is initialised here with the gloo backend *before* any Runner is
built; MMEngine then finds it initialised and uses it (``Runner.setup_env`` skips
``init_dist``). The environment comes from the launcher: ``torchrun`` sets RANK / WORLD_SIZE /
LOCAL_RANK / MASTER_ADDR / MASTER_PORT, Slurm's ``srun`` sets SLURM_PROCID / SLURM_NTASKS /
SLURM_LOCALID / SLURM_NODELIST (translated the way MMEngine's slurm launcher does).
"""
import os
import subprocess
from typing import Any

import torch
import torch.distributed as dist
from mmengine.config import Config
from mmengine.dist import broadcast_object_list

LAUNCHERS = ('none', 'pytorch', 'slurm')


def init_distributed(launcher: str, backend: str = None) -> None:
    """Initialise the default process group for ``launcher`` (no-op for ``'none'``).

    Args:
        launcher (str): ``'none'``, ``'pytorch'`` (torchrun) or ``'slurm'`` (srun).
        backend (str, optional): torch.distributed backend; default ``nccl`` with CUDA,
            ``gloo`` without (where ``nccl`` is replaced by ``gloo``).
    """
    if launcher not in LAUNCHERS:
        raise ValueError(f'--launcher must be one of {LAUNCHERS}, got {launcher!r}')
    if launcher == 'none' or dist.is_initialized():
        return
    if torch.cuda.is_available():
        from mmengine.dist import init_dist
        init_dist(launcher, backend=backend or 'nccl')
        return
    if launcher == 'slurm':
        _slurm_env()
    missing = [k for k in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT')
               if k not in os.environ]
    if missing:
        raise ValueError(f'--launcher {launcher}: environment lacks {missing}: start with '
                         f'torchrun (pytorch) or srun (slurm)')
    os.environ.setdefault('LOCAL_RANK', '0')
    # nccl needs GPUs: configs written for GPU clusters (dist_cfg backend='nccl') still run here
    dist.init_process_group(backend='gloo' if backend in (None, 'nccl') else backend)


def _slurm_env() -> None:
    """RANK/WORLD_SIZE/... from Slurm's variables, as MMEngine's ``_init_dist_slurm`` does.

    Not MMEngine's function itself: it selects a GPU first (``proc_id % device_count``), which
    fails on CPU-only nodes, where this one lets gloo start.
    """
    try:
        proc_id, ntasks = os.environ['SLURM_PROCID'], os.environ['SLURM_NTASKS']
    except KeyError:
        raise ValueError('--launcher slurm outside a Slurm job step: start it with srun')
    if 'MASTER_ADDR' not in os.environ:
        nodes = os.environ['SLURM_NODELIST']
        os.environ['MASTER_ADDR'] = subprocess.getoutput(
            f'scontrol show hostname {nodes} | head -n1')
    os.environ.setdefault('MASTER_PORT', '29500')
    os.environ['RANK'] = proc_id
    os.environ['WORLD_SIZE'] = ntasks
    os.environ['LOCAL_RANK'] = os.environ.get('SLURM_LOCALID', '0')


def configure_launcher(cfg: Config, launcher: str) -> None:
    """Put the launcher into ``cfg`` (every stage Runner reads it); CPU DDP needs no device ids.

    MMEngine passes ``device_ids=[LOCAL_RANK]`` to DistributedDataParallel by default, which
    torch rejects for a CPU model; ``device_ids=None`` is the CPU form.
    """
    cfg.launcher = launcher
    if launcher == 'none' or torch.cuda.is_available():
        return
    wrapper = dict(cfg.get('model_wrapper_cfg') or {})
    wrapper.setdefault('type', 'MMDistributedDataParallel')
    wrapper.setdefault('device_ids', None)
    wrapper.setdefault('broadcast_buffers', False)
    wrapper.setdefault('find_unused_parameters', cfg.get('find_unused_parameters', False))
    cfg.model_wrapper_cfg = wrapper


def agree(value: Any) -> Any:
    """Rank 0's ``value`` on every rank, so all ranks take the same branch."""
    box = [value]
    broadcast_object_list(box, src=0)  # MMEngine's: a no-op outside torch.distributed
    return box[0]
