"""Small networks for alignment tests, and a random relabelling of their hidden units."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class Residual(nn.Module):
    """x ↦ x + fc2(relu(fc1(x))) between two Linear layers: the addition shares one group."""

    def __init__(self, width: int = 6) -> None:
        super().__init__()
        self.inp = nn.Linear(4, width)
        self.fc1 = nn.Linear(width, 5)
        self.fc2 = nn.Linear(5, width)
        self.norm = nn.LayerNorm(width)
        self.out = nn.Linear(width, 3)

    def forward(self, x: Tensor) -> Tensor:
        h = torch.relu(self.inp(x))
        h = h + self.fc2(torch.relu(self.fc1(h)))
        out: Tensor = self.out(self.norm(h))
        return out


def mlp(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(4, 7), nn.ReLU(), nn.Linear(7, 6), nn.Tanh(), nn.Linear(6, 3)
    ).double()


def conv_bn(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    net = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 5, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(5 * 4 * 4, 3),
    ).double()  # fmt: skip
    with torch.no_grad():
        net[1].running_mean.uniform_(-0.5, 0.5)
        net[1].running_var.uniform_(0.5, 2.0)
        net[1].weight.uniform_(0.5, 1.5)
    return net


def residual(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return Residual().double()
