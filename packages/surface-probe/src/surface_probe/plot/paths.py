"""Matplotlib figures for paths between minima (the optional extra ``surface-probe[plot]``).

``profiles`` draws loss (or a metric) against t or against the distance travelled along the path.
``path_plane`` projects paths onto the plane through θ_a, θ_b and the first path's midpoint
θ(1/2): with e_1 = (θ_b − θ_a)/‖θ_b − θ_a‖ and e_2 the unit part of θ(1/2) − θ_a orthogonal to
e_1, a point θ is drawn at (⟨θ − θ_a, e_1⟩, ⟨θ − θ_a, e_2⟩); θ_a sits at the origin and θ_b on
the x axis.  Like the rest of :mod:`surface_probe.plot`, functions draw on given (or new) axes
and return them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
import torch

from surface_probe.paths.families import Path, as_ts
from surface_probe.paths.results import PathResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["path_plane", "plane_coordinates", "profiles"]


def _named(items: object, what: str) -> list[tuple[str, object]]:
    if isinstance(items, (Path, PathResult)):
        items = [items]
    if not isinstance(items, Mapping | Sequence):
        raise TypeError(f"{what} must be a mapping or a sequence, got {type(items).__name__}")
    if not items:
        raise ValueError(f"{what} is empty")
    if isinstance(items, Mapping):
        return [(str(k), v) for k, v in items.items()]
    return [(f"{what}[{i}]", item) for i, item in enumerate(items)]


def profiles(
    results: Mapping[str, PathResult] | Sequence[PathResult] | PathResult,
    *,
    x: str = "t",
    metric: str = "loss",
    ax: Axes | None = None,
) -> Axes:
    """Profiles of path results against ``x`` = "t" or "distance" (cumulative ‖Δθ‖), labelled
    with their height H."""
    if x not in ("t", "distance"):
        raise ValueError(f"x must be 't' or 'distance', got {x!r}")
    ax = ax if ax is not None else plt.figure().add_subplot()
    for name, result in _named(results, "results"):
        if not isinstance(result, PathResult):
            raise TypeError(f"{name} must be a PathResult, got {type(result).__name__}")
        if metric != "loss" and metric not in result.metrics:
            raise KeyError(f"{name} has no metric {metric!r}; it has {sorted(result.metrics)}")
        values = result.loss if metric == "loss" else result.metrics[metric]
        xs = result.ts if x == "t" else np.concatenate([[0.0], np.cumsum(result.segment_lengths)])
        ax.plot(xs, values, label=f"{name} (H = {result.height:.3g})")
    ax.set_xlabel("t" if x == "t" else "distance along the path")
    ax.set_ylabel(metric)
    ax.legend()
    return ax


def plane_coordinates(paths: Sequence[Path], ts: np.ndarray) -> list[np.ndarray]:
    """(T, 2) plane coordinates of every path at ``ts`` (the projection described above)."""
    first = paths[0]
    origin = first.ends[0].double()
    e1 = first.ends[1].double() - origin
    e1 = e1 / torch.linalg.vector_norm(e1).clamp_min(1e-300)
    mid = first.points(as_ts([0.5]))[0].double() - origin
    e2 = mid - (mid @ e1) * e1
    norm = float(torch.linalg.vector_norm(e2))
    e2 = e2 / norm if norm > 1e-12 * float(torch.linalg.vector_norm(mid)) and norm > 0 else e2 * 0
    t = as_ts(ts)
    out = []
    for p in paths:
        if p.dim != first.dim:
            raise ValueError(f"paths live in different spaces ({first.dim} and {p.dim} parameters)")
        rel = p.points(t).double() - origin
        out.append(torch.stack([rel @ e1, rel @ e2], dim=1).cpu().numpy())
    return out


def path_plane(
    paths: Mapping[str, Path] | Sequence[Path] | Path,
    *,
    steps: int = 101,
    ax: Axes | None = None,
) -> Axes:
    """Paths projected onto the plane through θ_a, θ_b and the first path's midpoint; chain
    nodes are marked."""
    named = _named(paths, "paths")
    for name, p in named:
        if not isinstance(p, Path):
            raise TypeError(f"{name} must be a Path, got {type(p).__name__}")
    plist = [p for _, p in named if isinstance(p, Path)]
    curves = plane_coordinates(plist, np.linspace(0.0, 1.0, steps))
    ax = ax if ax is not None else plt.figure().add_subplot()
    for (name, p), xy in zip(named, curves, strict=True):
        (line,) = ax.plot(xy[:, 0], xy[:, 1], label=name)
        if isinstance(p, Path) and p.kind in ("polychain", "beads"):
            nodes = plane_coordinates([plist[0], p], p.knots().numpy())[1]
            ax.plot(nodes[:, 0], nodes[:, 1], "o", color=line.get_color(), markersize=4)
    ends = curves[0][[0, -1]]
    ax.plot(ends[:, 0], ends[:, 1], "k*", markersize=10)
    ax.annotate("θ_a", ends[0])
    ax.annotate("θ_b", ends[1])
    ax.set_aspect("equal", adjustable="datalim")
    ax.legend()
    return ax
