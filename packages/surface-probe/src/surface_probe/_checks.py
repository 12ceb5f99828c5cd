"""Checks of numeric arguments, each refusing a bad value in one line that names the argument:
:func:`count` for integers (steps, sizes, seeds), :func:`check_at_least` for real numbers."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["check_at_least", "count"]


def count(value: Any, name: str, minimum: int) -> int:
    """An integer argument such as ``steps``; 2.5 or True is refused, never truncated."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_at_least(*limits: tuple[str, float, float]) -> None:
    """Refuse the first (name, value, low) whose value is below low or not finite, naming it."""
    for name, value, low in limits:
        if not low <= value < math.inf:
            raise ValueError(f"{name} must be >= {low} and finite, got {value}")
