"""Classification path: on-disk datasets, class subsets, classifiers and accuracy."""
from .datasets import CIFARCls, ClassSubset, ImageFolderCls
from .metrics import TopKAccuracy
from .models import CifarResNet, ImageClassifier, SmallConvNet, TVResNet

__all__ = ['CIFARCls', 'ClassSubset', 'ImageFolderCls', 'CifarResNet', 'ImageClassifier',
           'SmallConvNet', 'TopKAccuracy', 'TVResNet']
