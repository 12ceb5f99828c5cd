"""Two-dimensional toy losses wrapped as modules whose parameters are the point θ = (x, y)."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

DATA = (torch.zeros(1, 1, dtype=torch.float64), torch.zeros(1, dtype=torch.float64))
ARC_OVER_CHORD = (3 * math.pi / 4) / (2 * math.sin(3 * math.pi / 8))  # 1.2752


class Point(nn.Module):
    """f(x; θ) = θ for every input: the loss function sees the parameters directly."""

    def __init__(self, x: float = 0.0, y: float = 0.0) -> None:
        super().__init__()
        self.theta = nn.Parameter(torch.tensor([x, y], dtype=torch.float64))

    def forward(self, inputs: Tensor) -> Tensor:
        return self.theta.expand(inputs.shape[0], 2)


def ring(out: Tensor, _: Tensor) -> Tensor:
    """L(θ) = (‖θ‖² − 1)²: a circular valley of minima."""
    return ((out**2).sum(dim=1) - 1.0).pow(2).mean()


def wells(out: Tensor, _: Tensor) -> Tensor:
    """L(x, y) = (x² − 1)² + y²: minima at (±1, 0), a saddle of height 1 at the origin."""
    return ((out[:, 0] ** 2 - 1.0) ** 2 + out[:, 1] ** 2).mean()


def ring_ends() -> tuple[Point, Point]:
    """Two minima on the unit circle, 135° apart (symmetric about the y axis)."""
    half = 3 * math.pi / 8
    return Point(math.cos(math.pi / 2 + half), math.sin(math.pi / 2 + half)), Point(
        math.cos(math.pi / 2 - half), math.sin(math.pi / 2 - half)
    )
