"""BatchNorm: which modules and tensors are BN state, and the policies for evaluating a network
at an arbitrary point θ.

A BN layer normalises with statistics (μ, σ²). At a probe point those statistics can come from:

- ``recompute``: reset the running statistics and re-estimate them on calibration batches b = 1..B
  with the cumulative average (``momentum=None``): μ = (1/B) Σ_b mean_b, σ² = (1/B) Σ_b var_b
  (unbiased per-batch variance), then evaluate in eval mode with these statistics;
- ``interpolate``: the running statistics are coordinates passed with each point;
- ``frozen``: the template's running statistics at every point;
- ``batch``: each evaluation batch normalises with its own statistics; running stats are never read
  nor updated;
- ``none``: the network has no running statistics.

Other floating buffers are always the point's own (see :mod:`surface_probe.params`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, TypeAlias, cast

import torch
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm, _NormBase

__all__ = [
    "POLICIES",
    "BNPolicy",
    "BatchNormState",
    "bn_parameter_names",
    "configure",
    "has_running_stats",
    "recalibrate",
    "resolve_policy",
    "running_stat_modules",
    "running_stat_names",
]

BNPolicy: TypeAlias = Literal["recompute", "interpolate", "frozen", "batch", "none"]
POLICIES: tuple[str, ...] = ("auto", "recompute", "interpolate", "frozen", "batch", "none")


def running_stat_modules(model: nn.Module) -> list[_NormBase]:
    """Normalization submodules that keep running statistics (BatchNorm, tracked InstanceNorm)."""
    return [
        m
        for m in model.modules()
        if isinstance(m, _NormBase) and m.track_running_stats and m.running_mean is not None
    ]


def has_running_stats(model: nn.Module) -> bool:
    """True when some submodule keeps BatchNorm-style running statistics."""
    return bool(running_stat_modules(model))


def running_stat_names(model: nn.Module) -> frozenset[str]:
    """Buffer names of the running statistics and their batch counters."""
    stat_ids = {id(m) for m in running_stat_modules(model)}
    return frozenset(
        f"{prefix}.{leaf}" if prefix else leaf
        for prefix, m in model.named_modules()
        if id(m) in stat_ids
        for leaf in ("running_mean", "running_var", "num_batches_tracked")
    )


def bn_parameter_names(model: nn.Module) -> frozenset[str]:
    """Names of the affine parameters of BatchNorm modules."""
    return frozenset(
        f"{prefix}.{n}" if prefix else n
        for prefix, module in model.named_modules()
        if isinstance(module, _BatchNorm)
        for n, _ in module.named_parameters()
    )


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


def recalibrate(modules: list[_NormBase], calibrate: Callable[[], None]) -> None:
    """The ``recompute`` policy at the current point: reset μ ← 0, σ² ← 1 and the batch counter
    (in place, so flat-buffer views stay attached), run ``calibrate()`` (the forward passes over
    the calibration batches) with only the BN modules estimating statistics (cumulative average,
    set by :func:`configure`), then switch them back to using the statistics."""
    for m in modules:
        m.reset_running_stats()
        m.train(True)
    try:
        calibrate()
    finally:
        for m in modules:
            m.train(False)


class BatchNormState:
    """The BN policy applied to a private model copy whose floating buffers are views of
    ``flat_buffers`` (configured by :func:`configure`); ``stat_mask`` marks the
    running-statistics entries of that vector."""

    def __init__(
        self, model: nn.Module, policy: BNPolicy, flat_buffers: Tensor, stat_mask: Tensor
    ) -> None:
        self.policy = policy
        self._flat = flat_buffers
        self._template = flat_buffers.clone()
        self._mask = stat_mask.to(flat_buffers.device)
        self.modules = configure(model, policy)

    def load(self, buffers: Tensor | None, calibrate: Callable[[], None]) -> None:
        """Set the point's floating ``buffers`` (None: keep the current ones) with the running
        statistics by the policy; under ``recompute`` re-estimate them with ``calibrate()``,
        which runs the forward pass over the calibration batches."""
        if buffers is not None and self.policy == "interpolate":
            self._flat.copy_(buffers)
        elif buffers is not None:
            self._flat.copy_(torch.where(self._mask, self._template, buffers))
        if self.policy == "recompute":
            recalibrate(self.modules, calibrate)
