"""Classification path: on-disk datasets, class subsets, classifiers and accuracy."""
from .datasets import CIFARCls, ClassSubset, ImageFolderCls
from .models import CifarResNet, ImageClassifier, SmallConvNet, TopKAccuracy, TVResNet

__all__ = ['CIFARCls', 'ClassSubset', 'ImageFolderCls', 'CifarResNet', 'ImageClassifier',
           'SmallConvNet', 'TopKAccuracy', 'TVResNet']
