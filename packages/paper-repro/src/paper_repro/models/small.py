"""Small CPU models for MNIST-1D (and the flat 8×8 digits): an MLP and a 1-D CNN.

These are not in the paper; they let every experiment run on two CPU cores in minutes while keeping
the two properties the paper's analyses depend on: a non-convex loss and (optionally) BatchNorm.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Sequence

import torch
from torch import nn

from paper_repro._validate import check_int
from paper_repro.models._common import msr_init_


def _check_sizes(name: str, sizes: Sequence[int]) -> tuple[int, ...]:
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence):
        raise TypeError(f"{name} must be a sequence of positive integers, got {sizes!r}")
    return tuple(check_int(f"{name}[{i}]", s, minimum=1) for i, s in enumerate(sizes))


class MLP(nn.Module):
    """Fully connected ReLU network ``x ↦ W_L σ(… σ(BN(W_1 x + b_1)) …) + b_L``.

    Input ``(B, *)`` is flattened to ``(B, in_features)``. Each hidden layer is
    ``Linear → [BatchNorm1d] → ReLU`` (children ``fc``, ``bn``, ``relu`` of ``hidden{i}``), then a
    final ``Linear`` ``out``. Initialisation: PyTorch's default ``U(-1/√fan_in, 1/√fan_in)`` for
    every Linear weight and bias; BatchNorm weight 1, bias 0.
    """

    def __init__(
        self, in_features: int, num_classes: int, hidden: Sequence[int], batchnorm: bool
    ) -> None:
        super().__init__()
        self.in_features = check_int("in_features", in_features, minimum=1)
        check_int("num_classes", num_classes, minimum=1)
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        width = in_features
        for i, h in enumerate(_check_sizes("hidden", hidden)):
            block: OrderedDict[str, nn.Module] = OrderedDict(fc=nn.Linear(width, h))
            if batchnorm:
                block["bn"] = nn.BatchNorm1d(h)
            block["relu"] = nn.ReLU(inplace=True)
            layers[f"hidden{i}"] = nn.Sequential(block)
            width = h
        layers["out"] = nn.Linear(width, num_classes)
        self.net = nn.Sequential(layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, num_classes)`` of a batch ``(B, *)`` with ``in_features`` values each."""
        if x.dim() < 2 or math.prod(x.shape[1:]) != self.in_features:
            raise ValueError(
                f"mlp expects input (B, ...) with {self.in_features} features per example, "
                f"got shape {tuple(x.shape)}"
            )
        out: torch.Tensor = self.net(x.flatten(1))
        return out


class CNN1d(nn.Module):
    """1-D convolutional network for signals of length ``in_length``.

    Input ``(B, L)`` (or ``(B, 1, L)``) is viewed as one channel. Each stage is
    ``Conv1d(k=5, stride=2, padding=2) → [BatchNorm1d] → ReLU`` and halves the length
    (``L ↦ ⌈L/2⌉``); the last feature map is flattened into a ``Linear`` classifier (position
    information is kept, as MNIST-1D needs it). Initialisation: convs He/MSR
    ``N(0, 2/(k·C_out))`` with zero bias, BatchNorm weight 1 and bias 0, the Linear PyTorch's
    default ``U(-1/√fan_in, 1/√fan_in)``.
    """

    def __init__(
        self, in_length: int, num_classes: int, channels: Sequence[int], batchnorm: bool
    ) -> None:
        super().__init__()
        self.in_length = check_int("in_length", in_length, minimum=1)
        check_int("num_classes", num_classes, minimum=1)
        sizes = _check_sizes("channels", channels)
        if not sizes:
            raise ValueError("channels must name at least one convolution stage")
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        c_in, length = 1, in_length
        for i, c in enumerate(sizes):
            block: OrderedDict[str, nn.Module] = OrderedDict(
                conv=nn.Conv1d(c_in, c, kernel_size=5, stride=2, padding=2)
            )
            if batchnorm:
                block["bn"] = nn.BatchNorm1d(c)
            block["relu"] = nn.ReLU(inplace=True)
            layers[f"conv{i}"] = nn.Sequential(block)
            c_in, length = c, (length + 1) // 2
        self.features = nn.Sequential(layers)
        self.classifier = nn.Linear(c_in * length, num_classes)
        msr_init_(self.features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, num_classes)`` of a batch ``(B, L)`` or ``(B, 1, L)``."""
        if x.dim() == 2:
            x = x.unsqueeze(1)
        if x.dim() != 3 or x.shape[1] != 1 or x.shape[2] != self.in_length:
            raise ValueError(
                f"cnn1d expects input (B, {self.in_length}) or (B, 1, {self.in_length}), "
                f"got shape {tuple(x.shape)}"
            )
        out: torch.Tensor = self.classifier(self.features(x).flatten(1))
        return out


def mlp(
    in_features: int = 40,
    num_classes: int = 10,
    hidden: Sequence[int] = (256, 256),
    batchnorm: bool = False,
) -> MLP:
    """MLP with ReLU hidden layers of sizes ``hidden`` (see :class:`MLP`)."""
    return MLP(in_features, num_classes, hidden, batchnorm)


def cnn1d(
    in_length: int = 40,
    num_classes: int = 10,
    channels: Sequence[int] = (32, 64),
    batchnorm: bool = True,
) -> CNN1d:
    """1-D CNN with stride-2 convolution stages of ``channels`` (see :class:`CNN1d`)."""
    return CNN1d(in_length, num_classes, channels, batchnorm)
