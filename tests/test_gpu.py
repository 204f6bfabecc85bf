"""GPU-only checks (skipped where torch sees no GPU, e.g. CI; run them on a GPU machine):
mixed precision keeps pruned weights exactly zero, also across GradScaler's skipped steps, and
mmcv's CUDA ops run on CUDA tensors. The CPU paths of the same code are tested elsewhere."""
import os.path as osp

import pytest
import torch
from mmengine.hooks import Hook

from colt_det.core import load_ticket
from colt_det.registry import HOOKS

from conftest import load_tool, write_tiny_cls_cfg

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA GPU')

SCALES = []  # (scale before, scale after) of every forced overflow, in stage order


@HOOKS.register_module(force=True)
class InfGradOnceHook(Hook):
    """Turns every gradient of the 2nd step of a stage into inf, so AmpOptimWrapper's GradScaler
    must skip that optimizer step and halve its scale."""
    priority = 'HIGHEST'

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self._handles = []
        if runner.iter == 1:
            self._scale = runner.optim_wrapper.loss_scaler.get_scale()
            self._handles = [p.register_hook(lambda g: torch.full_like(g, float('inf')))
                             for p in runner.model.parameters() if p.requires_grad]

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if self._handles:
            for h in self._handles:
                h.remove()
            SCALES.append((self._scale, runner.optim_wrapper.loss_scaler.get_scale()))


def test_amp_search_keeps_pruned_weights_zero_across_skipped_steps(cls_data, tmp_path):
    extra = "custom_hooks = [dict(type='InfGradOnceHook')]\n"
    cfg = write_tiny_cls_cfg(tmp_path, cls_data, extra)
    work = tmp_path / 'work'
    SCALES.clear()
    assert load_tool('train').main([cfg, '--work-dir', str(work), '--amp']) == 0
    # every stage (partitions of each round + final) skipped its poisoned step
    assert len(SCALES) >= 3 and all(after == before / 2 for before, after in SCALES), SCALES
    final = load_ticket(str(work / 'tickets' / 'final.safetensors'))
    kept = sum(int(m.sum()) for m in final.masks.values())
    assert kept <= 0.3 * sum(m.numel() for m in final.masks.values()) + 1
    assert final.trained is not None
    for k, m in final.masks.items():
        assert torch.all(final.trained[k][~m] == 0), k
    ckpt = torch.load(osp.join(work, 'final_masked.pth'), map_location='cpu', weights_only=False)
    for k, m in final.masks.items():
        assert torch.all(ckpt['state_dict'][k][~m] == 0), k
        assert ckpt['state_dict'][k].is_floating_point() and ckpt['state_dict'][k][m].ne(0).any()


def test_mmcv_cuda_ops_run_on_the_gpu():
    from mmcv.ops import RoIAlign, nms
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.], [20., 20., 30., 30.]],
                         device='cuda')
    dets, keep = nms(boxes, torch.tensor([0.9, 0.8, 0.7], device='cuda'), 0.5)
    assert keep.is_cuda and keep.tolist() == [0, 2]
    feats = torch.ones(1, 2, 8, 8, device='cuda')
    out = RoIAlign((2, 2), 1.0, 0)(feats, torch.tensor([[0., 0., 0., 4., 4.]], device='cuda'))
    assert out.is_cuda and torch.allclose(out, torch.ones_like(out))
