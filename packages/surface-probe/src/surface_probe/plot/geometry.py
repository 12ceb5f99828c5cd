"""Figures for curvature, gradient geometry and solution maps (needs the ``[plot]`` extra).

Like the rest of :mod:`surface_probe.plot`, every function draws onto axes it is given (or a new
figure), returns the figure and never calls ``plt.show()``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np

from surface_probe.plot.surfaces import surface

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from surface_probe.maps import SolutionMap
    from surface_probe.results import SurfaceResult
    from surface_probe.spectral import SpectralDensity

__all__ = ["geometry", "solution_map", "spectrum", "trajectory_plane"]


def _axes(ax: Axes | None, size: tuple[float, float] = (6.0, 4.0)) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax  # type: ignore[return-value]
    fig, new = plt.subplots(figsize=size)
    return fig, new


def spectrum(density: SpectralDensity, *, ax: Axes | None = None, log: bool = True) -> Figure:
    """Smoothed SLQ spectral density of the Hessian (log density scale by default)."""
    fig, ax = _axes(ax)
    lo, hi = float(density.nodes.min()), float(density.nodes.max())
    pad = 0.05 * max(hi - lo, 1e-12)
    grid = np.linspace(lo - pad, hi + pad, 800)
    values = density.density(grid)
    ax.plot(grid, values)
    if log:
        ax.set_yscale("log")
        ax.set_ylim(bottom=max(float(values.max()) * 1e-8, 1e-300))
    ax.set_xlabel("eigenvalue")
    ax.set_ylabel("density")
    return fig


def geometry(
    rows: Mapping[str, np.ndarray],
    *,
    kinds: tuple[str, ...] = ("grad", "update", "full", "random"),
    fig: Figure | None = None,
) -> Figure:
    """RSI, EB and γ over training steps, one panel each, one line per recorded kind."""
    fig = fig if fig is not None else plt.figure(figsize=(12.0, 3.6))
    axes = fig.subplots(1, 3)
    for ax, stat, label in zip(axes, ("rsi", "eb", "gamma"), ("RSI", "EB", "γ"), strict=True):
        for kind in kinds:
            column = f"{kind}_{stat}"
            if column in rows:
                finite = np.isfinite(rows[column])
                ax.plot(rows["step"][finite], rows[column][finite], label=kind)
        ax.set_xlabel("step")
        ax.set_ylabel(label)
    axes[0].legend()
    return fig


def solution_map(result: SolutionMap, *, ax: Axes | None = None) -> Figure:
    """Kernel-PCA map: one colour per group, first two components."""
    fig, ax = _axes(ax, (5.0, 5.0))
    labels = np.asarray(result.groups)
    for group in dict.fromkeys(result.groups):
        pts = result.coordinates[labels == group]
        ax.scatter(pts[:, 0], pts[:, 1], label=f"{group} (spread {result.spread[group]:.3g})")
    ax.set_xlabel("kPCA 1")
    ax.set_ylabel("kPCA 2" if result.coordinates.shape[1] > 1 else "")
    ax.set_title(f"{result.meta['space']} space")
    ax.legend()
    return fig


def trajectory_plane(result: SurfaceResult, *, log: bool = False) -> Figure:
    """Contours of a :func:`surface_probe.trajectory_plane` result with the projected path."""
    if "trajectory" not in result.meta:
        raise ValueError("result has no meta['trajectory']: use surface_probe.trajectory_plane")
    fig = surface(result, style="contour", log=log)
    ax = fig.axes[0]
    coords = np.asarray(result.meta["trajectory"])
    ax.plot(coords[:, 0], coords[:, 1], "w.-", markersize=4, linewidth=1)
    ax.plot(coords[-1, 0], coords[-1, 1], "r*", markersize=10)
    ratio = result.meta["explained_variance"]
    ax.set_xlabel(f"PC 1 ({100 * ratio[0]:.1f} %)")
    ax.set_ylabel(f"PC 2 ({100 * ratio[1]:.1f} %)")
    return fig
