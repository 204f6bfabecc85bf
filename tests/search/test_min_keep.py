"""k-of-N voting inside a search (``colt.min_keep``), not only as the pure function."""
import os.path as osp

import torch

from colt_det.core import intersect, load_mask, load_ticket, vote

from conftest import load_tool, write_tiny_cls_cfg


def test_a_search_with_min_keep_keeps_what_k_of_n_partitions_keep(cls_data, tmp_path):
    """N=3, min_keep=2: the round ticket is the 2-of-3 vote of the partitions' masks, which
    here differs from their intersection (fails if the search ignores min_keep)."""
    cfg = write_tiny_cls_cfg(tmp_path, cls_data, extra=(
        "colt.update(num_partitions=3, min_keep=2, max_rounds=1, target_sparsity=0.4)\n"
        "train_cfg = dict(by_epoch=True, max_epochs=1, val_interval=1)\n"))
    work = str(tmp_path / 'w')
    assert load_tool('train').main([cfg, '--work-dir', work]) == 0
    parts = [load_mask(osp.join(work, 'rounds', 'round_01', f'part_{i}', 'mask.safetensors'))
             for i in range(3)]
    ticket = load_ticket(osp.join(work, 'tickets', 'round_01.safetensors')).masks
    voted, both = vote(parts, 2), intersect(parts)
    assert all(torch.equal(ticket[k], voted[k]) for k in voted)
    assert any(not torch.equal(voted[k], both[k]) for k in voted)
