"""BatchNorm policies for evaluating a network at an arbitrary point θ.

A BN layer normalises with statistics (μ, σ²). At a probe point those statistics can come from:

- ``recompute``: reset the running statistics and re-estimate them on calibration batches b = 1..B
  with the cumulative average (``momentum=None``): μ = (1/B) Σ_b mean_b, σ² = (1/B) Σ_b var_b
  (unbiased per-batch variance), then evaluate in eval mode with these statistics;
- ``interpolate``: the running statistics are coordinates passed with each point;
- ``frozen``: the template's running statistics at every point;
- ``batch``: each evaluation batch normalises with its own statistics; running stats are never read
  nor updated;
- ``none``: the network has no running statistics.
"""

from __future__ import annotations

from typing import cast

from torch import nn
from torch.nn.modules.batchnorm import _NormBase

from surface_probe.params import BNPolicy, running_stat_modules

__all__ = ["POLICIES", "configure", "reset_running_stats", "resolve_policy", "set_training"]

POLICIES: tuple[str, ...] = ("auto", "recompute", "interpolate", "frozen", "batch", "none")


def resolve_policy(bn: str, has_stats: bool) -> BNPolicy:
    """Resolve ``"auto"`` and check that the policy fits the model."""
    if bn not in POLICIES:
        raise ValueError(f"bn must be one of {POLICIES}, got {bn!r}")
    if bn == "auto":
        return "recompute" if has_stats else "none"
    if bn == "none" and has_stats:
        raise ValueError(
            "bn='none' but the model has BatchNorm running statistics; choose one of "
            "'recompute', 'interpolate', 'frozen', 'batch' (or 'auto')"
        )
    if bn != "none" and not has_stats:
        raise ValueError(
            f"bn={bn!r} needs BatchNorm running statistics but the model has none; "
            "use bn='none' or bn='auto'"
        )
    return cast(BNPolicy, bn)


def configure(model: nn.Module, policy: BNPolicy) -> list[_NormBase]:
    """Put a private model copy in evaluation configuration for ``policy``; return its BN modules.

    Every module goes to eval mode (dropout off). For ``recompute`` the BN momentum becomes ``None``
    (cumulative average); for ``batch`` BN modules run in training mode without tracking, which
    normalises with batch statistics and leaves the running buffers untouched.
    """
    model.eval()
    modules = running_stat_modules(model)
    for m in modules:
        if policy == "recompute":
            m.momentum = None
        elif policy == "batch":
            m.track_running_stats = False
            m.train()
    return modules


def reset_running_stats(modules: list[_NormBase]) -> None:
    """μ ← 0, σ² ← 1, batch counter ← 0 (in place, so flat-buffer views stay attached)."""
    for m in modules:
        m.reset_running_stats()


def set_training(modules: list[_NormBase], training: bool) -> None:
    """Switch only the BN modules between statistics estimation and use."""
    for m in modules:
        m.train(training)
