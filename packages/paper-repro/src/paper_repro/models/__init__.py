"""Model zoo of the reproduction: the paper's NIN, VGG and LSTM, and small CPU models.

``build_model(name, **kwargs)`` builds any of them by name; ``count_parameters`` counts scalars.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from paper_repro._registry import call_registered
from paper_repro.models.lstm import LSTMLanguageModel, lstm_lm
from paper_repro.models.nin import NIN, nin
from paper_repro.models.small import MLP, CNN1d, cnn1d, mlp
from paper_repro.models.vgg import VGG, vgg

MODELS: dict[str, Callable[..., nn.Module]] = {
    "nin": nin,
    "vgg": vgg,
    "lstm_lm": lstm_lm,
    "mlp": mlp,
    "cnn1d": cnn1d,
}
"""Registry of model factories by name."""


def build_model(name: str, **kwargs: Any) -> nn.Module:
    """Build the model registered as ``name`` in :data:`MODELS` with the factory's keywords.

    Raises ``ValueError`` listing the known names for an unknown ``name`` and ``TypeError`` listing
    the accepted arguments for an unknown keyword.
    """
    return call_registered("model", MODELS, name, kwargs)


def count_parameters(model: nn.Module) -> int:
    """Number of scalar parameters ``Σ_p numel(p)`` (buffers such as BN running stats excluded)."""
    return sum(p.numel() for p in model.parameters())


__all__ = [
    "MLP",
    "MODELS",
    "NIN",
    "VGG",
    "CNN1d",
    "LSTMLanguageModel",
    "build_model",
    "cnn1d",
    "count_parameters",
    "lstm_lm",
    "mlp",
    "nin",
    "vgg",
]
