"""Equal training budgets for partition stages (``colt.partition_budget='equal'``).

A COLT round trains N partitions with the schedule of one IMP round each. When partitions
share images (detection: an image with objects of both class groups is in both), a round then
processes more images than an IMP round (1.69x on the demo). :class:`BudgetSampler` caps every
partition epoch at ``share`` of the *full* training set (``1/N``), drawing a fresh seeded subset
of the partition's images every epoch, so one COLT round processes as many images as one IMP
round while the epoch-based schedule (milestones, validation) stays as configured.
"""
import math
from typing import Iterator

import torch
from mmengine.dataset import DefaultSampler

from ..registry import DATA_SAMPLERS


@DATA_SAMPLERS.register_module()
class BudgetSampler(DefaultSampler):
    """DefaultSampler drawing ``share`` x (full training set size) images per epoch.

    Args:
        dataset: the partition dataset; its full training set is ``dataset.dataset`` (the
            dataset a ``ClassSubset`` / ``ClassPartitionDetDataset`` wraps).
        share (float): the fraction of the full training set one epoch of this partition may
            use (at most every image of the partition).
        seed (int, optional): subsets and order are drawn from ``seed + epoch``.
    """

    def __init__(self, dataset, share: float, seed=None, round_up: bool = True) -> None:
        super().__init__(dataset, shuffle=True, seed=seed, round_up=round_up)
        if not 0.0 < share <= 1.0:
            raise ValueError(f'BudgetSampler share must be in (0, 1], got {share}')
        full = len(getattr(dataset, 'dataset', dataset))
        self.per_epoch = max(1, min(len(dataset), round(share * full)))
        if round_up:
            self.num_samples = math.ceil(self.per_epoch / self.world_size)
            self.total_size = self.num_samples * self.world_size
        else:
            self.num_samples = math.ceil((self.per_epoch - self.rank) / self.world_size)
            self.total_size = self.per_epoch

    def __iter__(self) -> Iterator[int]:
        g = torch.Generator()
        g.manual_seed(self.seed + self.epoch)
        indices = torch.randperm(len(self.dataset), generator=g).tolist()[:self.per_epoch]
        if self.round_up:
            indices = (indices * math.ceil(self.total_size / len(indices)))[:self.total_size]
        return iter(indices[self.rank:self.total_size:self.world_size])
