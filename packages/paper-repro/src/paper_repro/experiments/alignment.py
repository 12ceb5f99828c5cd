"""Permutation alignment (``surface_probe.align``, weight matching) of the project's models.

``sp.align`` finds the permutation groups of a model from a ``torch.fx`` trace, and fx cannot
trace our models' ``forward``: each first checks the shape of its input, which is control flow on
a traced value. :func:`traceable` therefore builds a twin that *shares* the model's layers (so its
``state_dict`` has the same keys) and runs them without the check, on the model's canonical input
layout ((B, 1, L) for the 1-D CNN, (B, C, H, W) for NIN/VGG, (B, ...) for the MLP); the twin is
only traced, never trained.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

import surface_probe as sp

from ..models import MLP, NIN, VGG, CNN1d

__all__ = ["aligned", "permuted", "traceable"]


class _FeaturesClassifier(nn.Module):
    """``classifier(flatten(features(x)))`` — the 1-D CNN and VGG without their input check."""

    def __init__(self, model: CNN1d | VGG) -> None:
        super().__init__()
        self.features = model.features
        self.classifier = model.classifier

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.classifier(torch.flatten(self.features(x), 1))
        return out


class _Net(nn.Module):
    """``net(x)`` (NIN) or ``net(flatten(x))`` (MLP) without the input check."""

    def __init__(self, model: NIN | MLP) -> None:
        super().__init__()
        self.net = model.net
        self.flat = isinstance(model, MLP)

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.net(torch.flatten(x, 1) if self.flat else x)
        return out


def traceable(model: nn.Module) -> nn.Module:
    """A twin of ``model`` sharing its layers that ``torch.fx`` can trace (see the module
    docstring); ``ValueError`` for a model without one (the LSTM language model)."""
    if isinstance(model, CNN1d | VGG):
        return _FeaturesClassifier(model)
    if isinstance(model, NIN | MLP):
        return _Net(model)
    raise ValueError(f"permutation alignment supports cnn1d, mlp, nin and vgg, not {model!r}")


def aligned(
    model: nn.Module, a: dict[str, Tensor], b: dict[str, Tensor], *, seed: int = 0
) -> dict[str, Tensor]:
    """θ_b with its hidden units permuted to match θ_a (``sp.align`` on :func:`traceable`): a new
    state_dict of ``model`` that computes exactly θ_b's function."""
    return sp.align(traceable(model), a, b, seed=seed)


def permuted(before: dict[str, Tensor], after: dict[str, Tensor]) -> bool:
    """Whether alignment changed anything (``after`` ≠ ``before`` in some tensor)."""
    return any(not torch.equal(before[k], after[k]) for k in before)
