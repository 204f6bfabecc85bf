"""Classifiers for the COLT search: a backbone + a linear head, as an MMEngine BaseModel.

Backbones: ``SmallConvNet`` (fast tests/demo), ``CifarResNet`` (3x3 stem, no max-pool) and
``TVResNet`` (torchvision ResNet-18/50 in ImageNet layout, whose parameter names are those of
mmdet's ``ResNet`` backbone, so a ticket found here maps 1:1 onto a detector backbone).
"""
from typing import Optional

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from torch import nn

from ...registry import MODELS
from .datasets import as_tensor_labels


@MODELS.register_module()
class SmallConvNet(nn.Module):
    """Four 3x3 conv-BN-ReLU blocks with max-pooling; ``out_channels`` features.

    Args:
        widths (tuple): output channels of the blocks.
        in_channels (int): image channels.
        norm (bool): BatchNorm after each conv. Without it a DDP step over 2 x B images equals a
            single-process step over 2B images (BN statistics are per process), which the
            distributed tests rely on.
    """

    def __init__(self, widths=(16, 32, 64, 64), in_channels: int = 3, norm: bool = True) -> None:
        super().__init__()
        layers, c = [], in_channels
        for i, w in enumerate(widths):
            layers += [nn.Conv2d(c, w, 3, padding=1, bias=not norm),
                       nn.BatchNorm2d(w) if norm else nn.Identity(), nn.ReLU(inplace=True)]
            if i < len(widths) - 1:
                layers.append(nn.MaxPool2d(2))
            c = w
        self.features = nn.Sequential(*layers)
        self.out_channels = c

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.adaptive_avg_pool2d(self.features(x), 1).flatten(1)


class _BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False),
                                            nn.BatchNorm2d(planes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + (x if self.downsample is None else self.downsample(x)))


@MODELS.register_module()
class CifarResNet(nn.Module):
    """ResNet-18 for 32x32 inputs (3x3 stem, no max-pool), torchvision-style names."""

    def __init__(self, depth: int = 18, base_width: int = 64) -> None:
        super().__init__()
        if depth != 18:
            raise ValueError(f'CifarResNet supports depth 18, got {depth}')
        w = base_width
        self.conv1 = nn.Conv2d(3, w, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(w)
        inplanes, stages = w, []
        for i, planes in enumerate((w, 2 * w, 4 * w, 8 * w)):
            stride = 1 if i == 0 else 2
            stages.append(nn.Sequential(_BasicBlock(inplanes, planes, stride),
                                        _BasicBlock(planes, planes)))
            inplanes = planes
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.out_channels = inplanes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return F.adaptive_avg_pool2d(x, 1).flatten(1)


@MODELS.register_module()
class TVResNet(nn.Module):
    """torchvision ResNet-18/34/50 without its ``fc`` (ImageNet layout, mmdet ResNet names).

    Args:
        depth (int): 18, 34 or 50.
        base_width (int): channels of the stem and ``layer1`` (64 in torchvision); other
            widths (ResNet-18/34 only) match mmdet's ``ResNet(base_channels=...)``, e.g. the
            half-width backbone of the hard detection benchmark.
    """

    def __init__(self, depth: int = 50, base_width: int = 64) -> None:
        super().__init__()
        import torchvision

        builders = {18: torchvision.models.resnet18, 34: torchvision.models.resnet34,
                    50: torchvision.models.resnet50}
        if depth not in builders:
            raise ValueError(f'TVResNet depth must be one of {sorted(builders)}, got {depth}')
        if base_width == 64:
            net = builders[depth](weights=None)  # never download: weights come from files
            for name in ('conv1', 'bn1', 'relu', 'maxpool', 'layer1', 'layer2', 'layer3',
                         'layer4'):
                setattr(self, name, getattr(net, name))
            self.out_channels = net.fc.in_features
            return
        if depth == 50:
            raise ValueError('TVResNet base_width other than 64 needs depth 18 or 34')
        w = base_width
        self.conv1 = nn.Conv2d(3, w, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(w)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        inplanes = w
        for i, blocks in enumerate({18: (2, 2, 2, 2), 34: (3, 4, 6, 3)}[depth]):
            planes = w * 2 ** i
            layer = [_BasicBlock(inplanes, planes, 1 if i == 0 else 2)]
            layer += [_BasicBlock(planes, planes) for _ in range(blocks - 1)]
            setattr(self, f'layer{i + 1}', nn.Sequential(*layer))
            inplanes = planes
        self.out_channels = inplanes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return F.adaptive_avg_pool2d(x, 1).flatten(1)


@MODELS.register_module()
class ImageClassifier(BaseModel):
    """``backbone`` features -> ``head`` (nn.Linear) logits; cross-entropy loss.

    Args:
        backbone (dict): a backbone config (``SmallConvNet``, ``CifarResNet``, ``TVResNet``).
        num_classes (int): size of the head (a COLT partition gets a head for its classes).
    """

    def __init__(self, backbone: dict, num_classes: int,
                 data_preprocessor: Optional[dict] = None, init_cfg=None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(dict(dict(_scope_='colt_det'), **backbone))
        self.head = nn.Linear(self.backbone.out_channels, num_classes)

    def forward(self, inputs: torch.Tensor, data_samples=None, mode: str = 'tensor'):
        logits = self.head(self.backbone(inputs))
        if mode == 'tensor':
            return logits
        labels = as_tensor_labels(data_samples).to(logits.device)
        if mode == 'loss':
            return dict(loss=F.cross_entropy(logits, labels))
        if mode == 'predict':
            return [dict(pred=int(p), gt=int(g)) for p, g in zip(logits.argmax(1), labels)]
        raise ValueError(f'unknown mode {mode!r}')
