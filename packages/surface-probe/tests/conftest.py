"""Tiny shared fixtures: float64 models with and without BatchNorm, and uneven data batches."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

Batches = list[tuple[Tensor, Tensor]]


def make_mlp(*, batchnorm: bool, dropout: float = 0.0, seed: int = 0) -> nn.Module:
    """4 → 8 → 3 float64 classifier, optionally with BatchNorm1d and dropout."""
    torch.manual_seed(seed)
    layers: list[nn.Module] = [nn.Linear(4, 8)]
    if batchnorm:
        layers.append(nn.BatchNorm1d(8))
    layers += [nn.ReLU(), nn.Dropout(dropout), nn.Linear(8, 3)]
    model = nn.Sequential(*layers).double()
    if batchnorm:  # non-trivial running statistics, as after training
        state = model.state_dict()  # tensors share storage with the module's buffers
        state["1.running_mean"].uniform_(-0.5, 0.5)
        state["1.running_var"].uniform_(0.5, 2.0)
        state["1.num_batches_tracked"].fill_(7)
    return model


def split(x: Tensor, y: Tensor, sizes: list[int]) -> Batches:
    """Consecutive batches of the given sizes (sum(sizes) == len(x))."""
    assert sum(sizes) == len(x)
    return list(zip(torch.split(x, sizes), torch.split(y, sizes), strict=True))


@pytest.fixture
def classification() -> tuple[Tensor, Tensor]:
    """23 float64 examples with 4 features and 3 classes (23 = 8 + 8 + 7: an uneven last batch)."""
    g = torch.Generator().manual_seed(1)
    x = torch.randn(23, 4, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (23,), generator=g)
    return x, y


@pytest.fixture
def batches(classification: tuple[Tensor, Tensor]) -> Batches:
    return split(*classification, [8, 8, 7])
