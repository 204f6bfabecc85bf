"""Detection path: class-partitioned VOC subsets keeping the global label space."""
from .datasets import ClassPartitionDetDataset, leaf_of

__all__ = ['ClassPartitionDetDataset', 'leaf_of']
