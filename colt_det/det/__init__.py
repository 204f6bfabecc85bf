"""Detection path: class-partitioned VOC subsets keeping the global label space, VOC mAP."""
from .datasets import ClassPartitionDetDataset, leaf_of
from .metrics import ColtVOCMetric

__all__ = ['ClassPartitionDetDataset', 'ColtVOCMetric', 'leaf_of']
