"""VGG-BN-drop for 32×32 images, as in szagoruyko/cifar.torch ``models/vgg_bn_drop.lua``.

Feature extractor: 3×3 conv (pad 1) → BatchNorm(ε = 1e-3) → ReLU blocks with channels
``64,64,M,128,128,M,256,256,256,M,512,512,512,M,512,512,512,M`` (M = 2×2 max-pool, ceil mode).
Dropout follows every conv except the last of each stage: rate 0.3 in the first stage, 0.4 in the
others. Classifier: ``Dropout 0.5 → Linear 512 → BatchNorm1d(ε = 1e-3) → ReLU → Dropout 0.5 →
Linear num_classes``. Spatial sizes 32 → 1. At width 1 with BatchNorm and 10 classes it has
14,991,946 parameters.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from paper_repro._validate import check_int
from paper_repro.models._common import (
    BN_EPS,
    ConvBNReLU,
    check_image_input,
    check_width,
    dropout_rate,
    msr_init_,
    scaled,
)

_VGG_STAGES: tuple[tuple[int, ...], ...] = (
    (64, 64),
    (128, 128),
    (256, 256, 256),
    (512, 512, 512),
    (512, 512, 512),
)
_VGG_DROPOUT_FIRST_STAGE = 0.3
_VGG_DROPOUT_CONV = 0.4
_VGG_DROPOUT_CLASSIFIER = 0.5
_VGG_HIDDEN = 512


class VGG(nn.Module):
    """VGG-BN-drop (see the module docstring); ``forward`` maps (B, C, 32, 32) to logits.

    Initialisation: cifar.torch's MSR/He scheme for convs, ``conv.weight ~ N(0, 2/(k_h·k_w·C_out))``
    with zero bias; BatchNorm weight 1, bias 0; Linear layers PyTorch's default
    ``U(-1/√fan_in, 1/√fan_in)`` (Torch7's default too).
    """

    def __init__(
        self, num_classes: int, width: float, batchnorm: bool, dropout: float, in_channels: int
    ) -> None:
        super().__init__()
        self.in_channels = check_int("in_channels", in_channels, minimum=1)
        check_int("num_classes", num_classes, minimum=1)
        width = check_width(width)
        p_first = dropout_rate(_VGG_DROPOUT_FIRST_STAGE, dropout)
        p_conv = dropout_rate(_VGG_DROPOUT_CONV, dropout)
        p_fc = dropout_rate(_VGG_DROPOUT_CLASSIFIER, dropout)
        features: OrderedDict[str, nn.Module] = OrderedDict()
        c_in = in_channels
        for s, stage in enumerate(_VGG_STAGES):
            for j, c in enumerate(stage):
                p = 0.0 if j == len(stage) - 1 else (p_first if s == 0 else p_conv)
                c_out = scaled(c, width)
                features[f"conv{s}_{j}"] = ConvBNReLU(
                    c_in, c_out, 3, padding=1, batchnorm=batchnorm, p=p
                )
                c_in = c_out
            features[f"pool{s}"] = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.features = nn.Sequential(features)
        hidden = scaled(_VGG_HIDDEN, width)
        classifier: OrderedDict[str, nn.Module] = OrderedDict()
        if p_fc > 0:
            classifier["drop0"] = nn.Dropout(p_fc)
        classifier["fc0"] = nn.Linear(c_in, hidden)
        if batchnorm:
            classifier["bn0"] = nn.BatchNorm1d(hidden, eps=BN_EPS)
        classifier["relu0"] = nn.ReLU(inplace=True)
        if p_fc > 0:
            classifier["drop1"] = nn.Dropout(p_fc)
        classifier["fc1"] = nn.Linear(hidden, num_classes)
        self.classifier = nn.Sequential(classifier)
        msr_init_(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, num_classes)`` of images ``(B, in_channels, 32, 32)``."""
        check_image_input(x, self.in_channels, "vgg")
        out: torch.Tensor = self.classifier(self.features(x).flatten(1))
        return out


def vgg(
    num_classes: int = 10,
    width: float = 1.0,
    batchnorm: bool = True,
    dropout: float = 1.0,
    in_channels: int = 3,
) -> VGG:
    """VGG-BN-drop of cifar.torch (see :class:`VGG`).

    ``width`` multiplies every channel count and the 512-unit hidden layer (not the output);
    ``batchnorm=False`` removes all BatchNorm layers (convs and Linear keep their biases);
    ``dropout`` multiplies the published rates 0.3 / 0.4 / 0.5 (``0`` removes the dropout layers);
    ``in_channels`` for non-RGB inputs.
    """
    return VGG(num_classes, width, batchnorm, dropout, in_channels)
