"""Surface results as triangle meshes in the drawing plane (pure numpy; figures in ``plot``).

A grid result with coordinates ``x`` (nx,), ``y`` (ny,) and values ``Z[j, i]`` at
``(x[i], y[j])`` is drawn in the shape of the weight-space region it samples: its point
(x, y) goes to Σ_k C_k(x, y) P_k, the same affine coefficients C that built the weights
(:mod:`surface_probe.geometry`) applied to corner positions P_k in the drawing plane:

    plane        plane_coefficients with P = ((0, 0), (1, 0), (0, 1)): (x, y) ↦ (x, y).
    bilinear     bilinear_coefficients with θ1..θ4 at (1, 1), (0, 1), (1, 0), (0, 0):
                 (α, β) ↦ (α, β) on the unit square.
    barycentric  barycentric_coefficients with θ0 on top, θ1 bottom left, θ2 bottom right:
                 (α, β) ↦ P0 + α[β (P1 - P0) + (1-β)(P2 - P0)]; the whole α = 0 edge collapses
                 onto the θ0 corner.

The mapped grid is split into triangles (two per grid cell); coincident mapped nodes are merged and
triangles that degenerate to zero area are dropped, so the barycentric α = 0 column becomes the
single θ0 vertex.  Triangles touching a non-finite value are masked: nan/inf points stay blank.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from surface_probe import geometry

if TYPE_CHECKING:
    from surface_probe.results import LineResult, SurfaceResult

__all__ = ["KINDS", "GridMesh", "grid_mesh", "mapped_grid", "metric_values", "value_label"]

KINDS = ("plane", "bilinear", "barycentric")
_SQRT3_2 = float(np.sqrt(3.0) / 2.0)
_CORNERS = {  # drawn positions of the anchors, in anchor order
    "plane": np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]),
    "bilinear": np.array([[1.0, 1.0], [0.0, 1.0], [1.0, 0.0], [0.0, 0.0]]),
    "barycentric": np.array([[0.5, _SQRT3_2], [0.0, 0.0], [1.0, 0.0]]),
}
_COEFFICIENTS = {
    "plane": geometry.plane_coefficients,
    "bilinear": geometry.bilinear_coefficients,
    "barycentric": geometry.barycentric_coefficients,
}


@dataclass(frozen=True)
class GridMesh:
    """A grid result mapped into the drawing plane and triangulated.

    nodes: (n, 2) drawn positions; triangles: (m, 3) node indices; masked: (m,) triangles touching
    a non-finite value; values: (n,) metric value at each node (log10 of it with ``log=True``; nan
    where undefined); corners: (k, 2) drawn positions of the named weight sets (θ0, θ1, θ2 for a
    triangle, θ1..θ4 for a quad; empty for a plane), labelled by ``labels``.
    """

    nodes: np.ndarray
    triangles: np.ndarray
    masked: np.ndarray
    values: np.ndarray
    corners: np.ndarray
    labels: tuple[str, ...]
    kind: str
    value_label: str


def metric_values(result: LineResult | SurfaceResult, metric: str) -> np.ndarray:
    """``result.loss`` for ``metric="loss"``, else ``result.metrics[metric]``, as float64."""
    if metric == "loss":
        return np.asarray(result.loss, dtype=np.float64)
    if metric not in result.metrics:
        available = ", ".join(["loss", *result.metrics])
        raise ValueError(f"metric {metric!r} is not in this result; available: {available}")
    return np.asarray(result.metrics[metric], dtype=np.float64)


def _transform(values: np.ndarray, log: bool) -> np.ndarray:
    """log10 of the values (non-positive ones become nan, so they are left blank) when ``log``."""
    if not log:
        return values
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(values > 0, np.log10(np.where(values > 0, values, 1.0)), np.nan)


def value_label(metric: str, log: bool) -> str:
    return f"log10 {metric}" if log else metric


def _kind(result: SurfaceResult) -> str:
    kind = result.meta.get("kind")
    if kind not in KINDS:
        raise ValueError(f"SurfaceResult.meta['kind'] must be one of {KINDS}, got {kind!r}")
    return str(kind)


def mapped_grid(result: SurfaceResult, kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Drawn positions X, Y of every grid point, each (ny, nx) with x varying along axis 1, and the
    drawn corner positions (k, 2) of the weight sets (none for a plane)."""
    x, y = np.asarray(result.x, np.float64), np.asarray(result.y, np.float64)
    xs, ys = geometry.grid(x, y)
    drawn = _COEFFICIENTS[kind](xs, ys).numpy() @ _CORNERS[kind]
    corners = np.empty((0, 2)) if kind == "plane" else _CORNERS[kind]
    return drawn[:, 0].reshape(y.size, x.size), drawn[:, 1].reshape(y.size, x.size), corners


def _corner_labels(
    result: SurfaceResult, kind: str, default: Sequence[str] | None
) -> tuple[str, ...]:
    """Corner names: ``meta["labels"]`` if present, else ``default``, else θ0..θ2 / θ1..θ4."""
    count = {"plane": 0, "bilinear": 4, "barycentric": 3}[kind]
    first = 0 if kind == "barycentric" else 1
    labels = result.meta.get("labels", default)
    if labels is None:
        return tuple(f"θ{k}" for k in range(first, first + count))
    if count and len(labels) != count:
        raise ValueError(
            f"meta['labels'] of a {kind} surface needs {count} names, got {len(labels)}"
        )
    return tuple(str(label) for label in labels) if count else ()


def grid_mesh(
    result: SurfaceResult,
    metric: str = "loss",
    *,
    log: bool = False,
    labels: Sequence[str] | None = None,
) -> GridMesh:
    """Map a grid result into the drawing plane (see the module docstring) and triangulate it.

    Grid cell (j, i)–(j+1, i+1) becomes the triangles (j,i)(j,i+1)(j+1,i+1) and
    (j,i)(j+1,i+1)(j+1,i). Mapped nodes within 1e-9 (relative) are merged, their value being
    the mean of the finite values landing there; zero-area triangles are dropped; triangles with a
    non-finite node are masked.
    """
    kind = _kind(result)
    values = _transform(metric_values(result, metric), log)
    nx, ny = len(result.x), len(result.y)
    if values.shape != (ny, nx):
        raise ValueError(
            f"{metric} has shape {values.shape}, expected (len(y), len(x)) = ({ny}, {nx})"
        )
    if nx < 2 or ny < 2:
        raise ValueError(f"a surface needs at least a 2x2 grid, got len(x)={nx}, len(y)={ny}")
    mx, my, corners = mapped_grid(result, kind)
    points = np.stack([mx.ravel(), my.ravel()], axis=1)
    scale = max(float(np.ptp(points[:, 0])), float(np.ptp(points[:, 1])), 1e-300)
    keys = np.round(points / (scale * 1e-9)).astype(np.int64)
    _, first, node = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    node = node.reshape(ny, nx)
    flat = values.ravel()
    finite = np.isfinite(flat)
    counts = np.bincount(node.ravel(), weights=finite.astype(np.float64))
    sums = np.bincount(node.ravel(), weights=np.where(finite, flat, 0.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        node_values = np.where(counts > 0, sums / np.maximum(counts, 1.0), np.nan)

    a, b = node[:-1, :-1].ravel(), node[:-1, 1:].ravel()
    c, d = node[1:, 1:].ravel(), node[1:, :-1].ravel()
    triangles = np.concatenate([np.stack([a, b, c], 1), np.stack([a, c, d], 1)])
    xy = points[first]
    p, q, r = xy[triangles[:, 0]], xy[triangles[:, 1]], xy[triangles[:, 2]]
    area = 0.5 * np.abs(
        (q[:, 0] - p[:, 0]) * (r[:, 1] - p[:, 1]) - (q[:, 1] - p[:, 1]) * (r[:, 0] - p[:, 0])
    )
    triangles = triangles[area > 1e-12 * scale * scale]
    return GridMesh(
        nodes=xy,
        triangles=triangles,
        masked=~np.isfinite(node_values[triangles]).all(axis=1),
        values=node_values,
        corners=corners,
        labels=_corner_labels(result, kind, labels),
        kind=kind,
        value_label=value_label(metric, log),
    )
