"""Losses and metrics: the default cross-entropy, named metrics, and their batch means.

Every loss or metric is a callable ``fn(outputs, targets)`` returning the batch mean (or
per-example values, averaged here); outputs in bf16/fp16 reach it as float32, and its value is
accumulated in float64.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeAlias

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["LossFn", "MetricFn", "accuracy", "batch_mean", "cross_entropy", "resolve_metrics"]

LossFn: TypeAlias = Callable[[Tensor, Any], Tensor]
MetricFn: TypeAlias = Callable[[Tensor, Any], Tensor]


def cross_entropy(outputs: Tensor, targets: Tensor) -> Tensor:
    """Mean cross-entropy ℓ = mean_i [log Σ_c exp(z_ic) − z_i,y_i].

    Sequence outputs (B, T, C) with targets (B, T) are flattened over B·T. For non-negative class
    indices the formula is evaluated directly with ``logsumexp`` (on CPU several times faster than
    ``F.cross_entropy`` for few classes); a class index ≥ C is a ValueError naming it; anything
    else (class probabilities, ``ignore_index`` targets < 0) goes to ``F.cross_entropy``.
    """
    if outputs.ndim > 2 and targets.ndim == outputs.ndim - 1:
        outputs, targets = outputs.reshape(-1, outputs.shape[-1]), targets.reshape(-1)
    if outputs.ndim != 2 or targets.ndim != 1 or targets.is_floating_point() or not len(targets):
        return F.cross_entropy(outputs, targets)
    lo, hi = (int(v) for v in targets.aminmax())
    if lo < 0:  # ignore_index (-100)
        return F.cross_entropy(outputs, targets)
    if hi >= outputs.shape[1]:
        raise ValueError(
            f"cross_entropy: targets hold class index {hi} but the outputs have "
            f"{outputs.shape[1]} classes (shape {tuple(outputs.shape)})"
        )
    picked = outputs.gather(1, targets.unsqueeze(1)).squeeze(1)
    return (outputs.logsumexp(dim=1) - picked).mean()


def accuracy(outputs: Tensor, targets: Tensor) -> Tensor:
    """Fraction of arg-max predictions equal to the integer targets."""
    return (outputs.argmax(dim=-1) == targets).to(torch.float64).mean()


_NAMED_METRICS: dict[str, MetricFn] = {"accuracy": accuracy}


def resolve_metrics(
    metrics: Mapping[str, MetricFn] | Sequence[str | MetricFn] | None,
) -> dict[str, MetricFn]:
    if metrics is None:
        return {}
    if isinstance(metrics, str):
        metrics = [metrics]
    items: list[tuple[str, Any]]
    if isinstance(metrics, Mapping):
        items = list(metrics.items())
    else:
        items = []
        for m in metrics:
            if isinstance(m, str):
                items.append((m, m))
            elif callable(m):
                items.append((getattr(m, "__name__", f"metric{len(items)}"), m))
            else:
                raise TypeError(f"metrics entries must be names or callables, got {m!r}")
    out: dict[str, MetricFn] = {}
    for name, fn in items:
        if name == "loss":
            raise ValueError("'loss' is reserved for loss_fn; give the metric another name")
        if name in out:
            raise ValueError(f"duplicate metric name {name!r}")
        if isinstance(fn, str):
            if fn not in _NAMED_METRICS:
                raise ValueError(f"unknown metric {fn!r}; known names: {sorted(_NAMED_METRICS)}")
            fn = _NAMED_METRICS[fn]
        if not callable(fn):
            raise TypeError(f"metric {name!r} must be callable, got {type(fn).__name__}")
        out[name] = fn
    return out


def batch_mean(value: Tensor, name: str) -> Tensor:
    """A scalar batch mean; per-example values (reduction='none') are averaged here."""
    if not isinstance(value, Tensor):
        raise TypeError(f"{name} must return a Tensor, got {type(value).__name__}")
    if value.is_complex():
        raise TypeError(f"{name} returned a complex tensor; losses and metrics must be real")
    return (value if value.ndim == 0 else value.mean()).to(torch.float64)
