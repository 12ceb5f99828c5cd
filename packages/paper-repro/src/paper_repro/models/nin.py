"""Network-in-Network for 32×32 images, as in szagoruyko/cifar.torch ``models/nin.lua``.

Layer by layer (every conv is followed by BatchNorm(ε = 1e-3) and ReLU; ``p`` are the published
dropout rates, multiplied by ``dropout``)::

    conv 5×5 192 (pad 2) · conv 1×1 160 · conv 1×1 96 · maxpool 3/2 ceil · dropout 0.5
    conv 5×5 192 (pad 2) · conv 1×1 192 · conv 1×1 192 · avgpool 3/2 ceil · dropout 0.5
    conv 3×3 192 (pad 1) · conv 1×1 192 · conv 1×1 num_classes · avgpool 8×8 (global) · flatten

Spatial sizes 32 → 16 → 8 → 1. At width 1 with BatchNorm and 10 classes it has 969,822 parameters.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from paper_repro._validate import check_int
from paper_repro.models._common import (
    ConvBNReLU,
    check_image_input,
    check_width,
    dropout_rate,
    msr_init_,
    scaled,
)

# (out_channels, kernel, padding); "max"/"avg" are the pooling + dropout(0.5) points.
_NIN_LAYOUT: tuple[tuple[int, int, int] | str, ...] = (
    (192, 5, 2), (160, 1, 0), (96, 1, 0), "max",
    (192, 5, 2), (192, 1, 0), (192, 1, 0), "avg",
    (192, 3, 1), (192, 1, 0), (-1, 1, 0),
)  # fmt: skip
_NIN_DROPOUT = 0.5


class NIN(nn.Module):
    """Network-in-Network (see the module docstring); ``forward`` maps (B, C, 32, 32) to logits.

    Initialisation: cifar.torch's MSR/He scheme, ``conv.weight ~ N(0, 2/(k_h·k_w·C_out))``, conv
    bias 0, BatchNorm weight 1 and bias 0.
    """

    def __init__(
        self, num_classes: int, width: float, batchnorm: bool, dropout: float, in_channels: int
    ) -> None:
        super().__init__()
        self.in_channels = check_int("in_channels", in_channels, minimum=1)
        check_int("num_classes", num_classes, minimum=1)
        width = check_width(width)
        p = dropout_rate(_NIN_DROPOUT, dropout)
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        c_in = in_channels
        for i, spec in enumerate(_NIN_LAYOUT):
            if spec == "max":
                layers[f"pool{i}"] = nn.MaxPool2d(3, 2, ceil_mode=True)
            elif spec == "avg":
                layers[f"pool{i}"] = nn.AvgPool2d(3, 2, ceil_mode=True)
            else:
                assert not isinstance(spec, str)
                c, k, pad = spec
                c_out = num_classes if c < 0 else scaled(c, width)
                layers[f"conv{i}"] = ConvBNReLU(c_in, c_out, k, padding=pad, batchnorm=batchnorm)
                c_in = c_out
                continue
            if p > 0:
                layers[f"drop{i}"] = nn.Dropout(p)
        layers["gap"] = nn.AvgPool2d(8, 1, ceil_mode=True)
        layers["flatten"] = nn.Flatten(1)
        self.net = nn.Sequential(layers)
        msr_init_(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, num_classes)`` of images ``(B, in_channels, 32, 32)``."""
        check_image_input(x, self.in_channels, "nin")
        out: torch.Tensor = self.net(x)
        return out


def nin(
    num_classes: int = 10,
    width: float = 1.0,
    batchnorm: bool = True,
    dropout: float = 1.0,
    in_channels: int = 3,
) -> NIN:
    """Network-in-Network of cifar.torch (see :class:`NIN`).

    ``width`` multiplies every channel count except the ``num_classes`` output conv;
    ``batchnorm=False`` removes the BatchNorm layers (convs keep their biases); ``dropout``
    multiplies the published rate 0.5 (``0`` removes the dropout layers); ``in_channels`` for
    non-RGB inputs.
    """
    return NIN(num_classes, width, batchnorm, dropout, in_channels)
