"""Checks of the probes' shape arguments: each bad value is refused naming the argument."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from torch import nn

from surface_probe import geometry
from surface_probe._checks import count

__all__ = [
    "Resolution",
    "Span",
    "alphas_axis",
    "resolution_pair",
    "span_box",
    "weight_sets",
]

Span = float | tuple[float, float, float, float]
Resolution = int | tuple[int, int]


def alphas_axis(alphas: Sequence[float] | np.ndarray | None, steps: int) -> np.ndarray:
    """The given α values, or linspace(0, 1, steps) with α = 0 and α = 1 exact."""
    if alphas is None:
        return geometry.axis(0.0, 1.0, count(steps, "steps", 1))
    a = np.asarray(alphas, dtype=np.float64).reshape(-1)
    if a.size == 0 or not np.all(np.isfinite(a)):
        raise ValueError("alphas must be a non-empty sequence of finite numbers")
    return a


def resolution_pair(resolution: Resolution) -> tuple[int, int]:
    """(nx, ny) from an int n (n × n) or a pair."""
    pair = resolution if isinstance(resolution, tuple | list) else (resolution, resolution)
    try:
        if len(pair) != 2:
            raise ValueError
        return count(pair[0], "", 1), count(pair[1], "", 1)
    except ValueError:
        raise ValueError(
            f"resolution must be an integer >= 1 or a pair (nx, ny) of them, got {resolution!r}"
        ) from None


def span_box(span: Span) -> tuple[float, float, float, float]:
    """(xmin, xmax, ymin, ymax) from s (the box [-s, s]²) or the four bounds."""
    box: Any = span
    if isinstance(span, int | float) and not isinstance(span, bool):
        box = (-span, span, -span, span)
    if (
        not isinstance(box, tuple | list)
        or len(box) != 4
        or not all(isinstance(v, int | float) and np.isfinite(v) for v in box)
    ):
        raise ValueError(
            f"span must be a finite number s or (xmin, xmax, ymin, ymax), got {span!r}"
        )
    return float(box[0]), float(box[1]), float(box[2]), float(box[3])


def weight_sets(sets: Any, number: int, what: str) -> dict[str, Any]:
    """``number`` weight sets, named ``what[k]`` for error messages."""
    if isinstance(sets, nn.Module | Mapping) or not isinstance(sets, Sequence):
        raise TypeError(f"{what} must be a sequence of {number} weight sets")
    if len(sets) != number:
        raise ValueError(f"{what} needs exactly {number} weight sets, got {len(sets)}")
    return {f"{what}[{k}]": w for k, w in enumerate(sets)}
