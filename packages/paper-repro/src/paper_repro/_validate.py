"""Argument checks that fail early with a message naming the parameter."""

from __future__ import annotations

import math


def check_int(name: str, value: object, *, minimum: int) -> int:
    """Return ``value`` if it is an ``int`` (not ``bool``) ≥ ``minimum``; else ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def check_number(name: str, value: object) -> float:
    """Return ``value`` as a float if it is a finite real number (not ``bool``); else raise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def check_fraction(name: str, value: object) -> float:
    """Return ``value`` as a float if it is a real number in the open interval (0, 1)."""
    number = check_number(name, value)
    if not 0 < number < 1:
        raise ValueError(f"{name} must be a number in (0, 1), got {value!r}")
    return number
