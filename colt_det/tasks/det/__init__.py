"""Detection path: class-partitioned VOC subsets keeping the global label space, VOC mAP."""
from .datasets import CheckedVOCDataset, ClassPartitionDetDataset, leaf_of
from .metrics import ColtVOCMetric

__all__ = ['CheckedVOCDataset', 'ClassPartitionDetDataset', 'ColtVOCMetric', 'leaf_of']
