"""Summary statistics and the package's one ``mean ± spread`` formatter.

Spread is the sample standard deviation (ddof = 1; 0 for a single value); non-finite values are
left out and ``n`` counts the values kept.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np


def mean_std(values: Iterable[float]) -> dict[str, float]:
    """``{"mean", "std", "n"}`` of the finite values (nan mean and std when there is none)."""
    arr = np.asarray([float(v) for v in values if math.isfinite(float(v))], dtype=np.float64)
    if arr.size == 0:
        return {"mean": math.nan, "std": math.nan, "n": 0}
    std = float(arr.std(ddof=1)) if arr.size > 1 else 0.0
    return {"mean": float(arr.mean()), "std": std, "n": int(arr.size)}


def fmt_summary(summary: Mapping[str, float]) -> str:
    """``mean ± std (n=…)`` of a :func:`mean_std` record; ``n/a`` when it holds no value."""
    if not summary["n"]:
        return "n/a"
    return f"{summary['mean']:.3g} ± {summary['std']:.2g} (n={int(summary['n'])})"


def fmt(values: Iterable[float]) -> str:
    """``mean ± std (n=…)`` of the finite values."""
    return fmt_summary(mean_std(values))
