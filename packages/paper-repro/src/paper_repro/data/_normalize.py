"""Standardisation with statistics of the training split only."""

from __future__ import annotations

import torch


def standardize(
    train: torch.Tensor, test: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, float, float]:
    """Return ``((train - μ)/σ, (test - μ)/σ, μ, σ)`` with one scalar μ, σ of the training split.

    A scalar (not per-feature) affine map keeps the shape of signals and images (constant border
    pixels would have σ = 0 per pixel) and commutes with any resampling whose weights sum to one.
    """
    mean = float(train.mean())
    std = float(train.std())
    if not std > 0:
        raise ValueError("cannot standardise: the training inputs are constant (std = 0)")
    return (train - mean) / std, (test - mean) / std, mean, std
