"""Curves: loss along lines, and basin curves against absolute distance."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import matplotlib.pyplot as plt
import numpy as np

from surface_probe.mesh import metric_values

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from surface_probe.results import BasinResult, LineResult

__all__ = ["basins", "lines"]


def _named(results: Mapping[str, Any] | Sequence[Any]) -> list[tuple[str, Any]]:
    """(name, result) pairs: the mapping's keys, or ``meta["name"]`` / "run k" for a sequence."""
    if isinstance(results, Mapping):
        return [(str(name), r) for name, r in results.items()]
    return [(str(r.meta.get("name", f"run {k}")), r) for k, r in enumerate(results)]


def _line_x(result: LineResult, x: str, name: str) -> np.ndarray:
    """α itself, or the signed parameter distance α‖θ_end - θ_start‖ (meta["distance"])."""
    alphas = np.asarray(result.alphas, dtype=np.float64)
    if x == "alpha":
        return alphas
    if x == "distance":
        if "distance" not in result.meta:
            raise ValueError(
                f"x='distance' needs meta['distance'] (‖θ_end - θ_start‖) in result {name!r}"
            )
        return alphas * float(result.meta["distance"])
    raise ValueError(f"x must be 'alpha' or 'distance', got {x!r}")


def lines(
    results: Mapping[str, LineResult] | Sequence[LineResult],
    *,
    metric: str = "loss",
    ax: Axes | None = None,
    x: Literal["alpha", "distance"] = "alpha",
    log: bool = False,
) -> Axes:
    """Overlay line results: ``metric`` against α (or against the parameter distance α‖θ_b - θ_a‖).

    Runs are named by the mapping's keys (or ``meta["name"]``) in the legend; nan points leave gaps;
    ``log=True`` uses a logarithmic y axis (non-positive values masked).
    """
    named = _named(results)
    if not named:
        raise ValueError("lines needs at least one LineResult")
    if ax is None:
        _, ax = plt.subplots(figsize=(6.0, 4.0))
    for name, result in named:
        ax.plot(_line_x(result, x, name), metric_values(result, metric), label=name)
    ax.set_xlabel("α" if x == "alpha" else "distance from start (parameter units)")
    ax.set_ylabel(metric)
    if log:
        ax.set_yscale("log", nonpositive="mask")
    ax.legend()
    return ax


def basins(
    results: Mapping[str, BasinResult], *, ax: Axes | None = None, log: bool = False
) -> Axes:
    """Loss against absolute distance from each centre (the paper's eq. 1), one colour per name.

    Each name's n direction curves share its colour; a dashed line marks its level
    L(θ*) + threshold, and a dot on it each basin radius: hollow when the curve never crossed the
    level within ``max_distance`` (``meta["censored"]``), so the radius is only a lower bound.
    """
    if not results:
        raise ValueError("basins needs at least one BasinResult")
    if ax is None:
        _, ax = plt.subplots(figsize=(6.0, 4.0))
    for k, (name, result) in enumerate(results.items()):
        color = f"C{k}"
        loss = np.atleast_2d(np.asarray(result.loss, dtype=np.float64))
        distances = np.asarray(result.distances, dtype=np.float64)
        if loss.shape[1] != distances.shape[0]:
            raise ValueError(
                f"basin {name!r}: loss has {loss.shape[1]} columns but there are "
                f"{distances.shape[0]} distances"
            )
        for row, curve in enumerate(loss):
            ax.plot(distances, curve, color=color, alpha=0.8, label=name if row == 0 else None)
        level = float(result.center_loss) + float(result.threshold)
        ax.axhline(level, color=color, linestyle="--", linewidth=0.8)
        radius = np.asarray(result.radius, dtype=np.float64)
        censored = np.asarray(result.meta.get("censored", np.zeros(radius.shape, bool)), bool)
        for hollow in (False, True):
            r = radius[np.isfinite(radius) & (censored == hollow)]
            face = "none" if hollow else color
            ax.plot(r, np.full_like(r, level), "o", color=color, markerfacecolor=face, markersize=5)
    ax.set_xlabel("distance from minimum (parameter units)")
    ax.set_ylabel("loss")
    if log:
        ax.set_yscale("log", nonpositive="mask")
    ax.legend()
    return ax
