"""Building blocks shared by the convolutional models: width scaling, rate checks, conv blocks.

Every convolution in the cifar.torch reference networks is followed by BatchNorm (ε = 1e-3) and
ReLU, and keeps its bias even when BatchNorm follows (the published parameter counts include it).
Initialisation of these blocks (the MSR/He scheme of cifar.torch's ``train.lua``)::

    conv.weight ~ N(0, 2 / (k_h · k_w · C_out))      (He, fan-out)
    conv.bias = 0;  bn.weight = 1;  bn.bias = 0
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from paper_repro._validate import check_number

BN_EPS = 1e-3
"""BatchNorm ε of cifar.torch (``nn.SpatialBatchNormalization(n, 1e-3)``)."""


def scaled(channels: int, width: float) -> int:
    """Channel count ``max(1, round(channels · width))`` of a width-multiplied layer."""
    return max(1, round(channels * width))


def check_width(width: float) -> float:
    """Validate the width multiplier (a finite number > 0)."""
    if check_number("width", width) <= 0:
        raise ValueError(f"width must be a finite number > 0, got {width!r}")
    return float(width)


def dropout_rate(published: float, scale: float) -> float:
    """Dropout probability ``published · scale``; ``scale = 0`` disables dropout.

    Raises ``ValueError`` naming ``dropout`` when the scale is negative or the scaled rate
    reaches 1.
    """
    rate = published * check_number("dropout", scale)
    if scale < 0 or rate >= 1.0:
        raise ValueError(
            f"dropout scales the published rate {published} to {rate}; it must give a rate in "
            f"[0, 1) (dropout={scale!r})"
        )
    return float(rate)


class ConvBNReLU(nn.Sequential):
    """``conv → [BatchNorm2d(ε=1e-3)] → ReLU → [Dropout(p)]`` with named children.

    Children are named ``conv``, ``bn``, ``relu``, ``drop`` so that parameter names do not depend on
    whether BatchNorm or dropout are present. ``bn`` is omitted when ``batchnorm`` is false and
    ``drop`` when ``p == 0``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        *,
        padding: int,
        batchnorm: bool,
        p: float = 0.0,
    ) -> None:
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        layers["conv"] = nn.Conv2d(in_channels, out_channels, kernel_size, padding=padding)
        if batchnorm:
            layers["bn"] = nn.BatchNorm2d(out_channels, eps=BN_EPS)
        layers["relu"] = nn.ReLU(inplace=True)
        if p > 0:
            layers["drop"] = nn.Dropout(p)
        super().__init__(layers)


def msr_init_(module: nn.Module) -> None:
    """Apply cifar.torch's MSR/He initialisation (see the module docstring) to every conv and BN.

    ``nn.Linear`` layers keep PyTorch's default ``U(-1/√fan_in, 1/√fan_in)`` for weight and bias,
    which is also Torch7's ``nn.Linear`` default used by cifar.torch.
    """
    for m in module.modules():
        if isinstance(m, (nn.Conv1d, nn.Conv2d)):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def check_image_input(x: torch.Tensor, in_channels: int, model: str) -> None:
    """Raise ``ValueError`` unless ``x`` is a floating (B, in_channels, 32, 32) batch."""
    expected = (in_channels, 32, 32)
    if x.dim() != 4 or tuple(x.shape[1:]) != expected:
        raise ValueError(
            f"{model} expects input of shape (B, {in_channels}, 32, 32), got {tuple(x.shape)}"
        )
    if not x.is_floating_point():
        raise TypeError(f"{model} expects a floating-point input, got dtype {x.dtype}")
