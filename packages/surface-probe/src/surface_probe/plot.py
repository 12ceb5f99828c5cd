"""Matplotlib figures for surface-probe results (the optional extra ``surface-probe[plot]``).

Every function draws onto a figure or axes it is given (or a new one), returns it, and never calls
``plt.show()``: saving, showing and closing are the caller's business.

Surfaces are drawn in the shape of the weight-space region they sample. A grid result with
coordinates ``x`` (nx,), ``y`` (ny,) and values ``Z[j, i]`` at ``(x[i], y[j])`` is mapped to points
in the drawing plane according to ``result.meta["kind"]`` (for bilinear and barycentric results
x = α and y = β):

    plane        (x, y) ↦ (x, y), the two direction coefficients.
    bilinear     (α, β) ↦ (α, β) on the unit square. The patch is
                 θ(α, β) = β[α θ1 + (1-α) θ2] + (1-β)[α θ3 + (1-α) θ4],
                 so θ1 sits at (1, 1), θ2 at (0, 1), θ3 at (1, 0) and θ4 at (0, 0).
    barycentric  (α, β) ↦ P0 + α[β (P1 - P0) + (1-β)(P2 - P0)] on a triangle P0 P1 P2, the image of
                 θ(α, β) = θ0 + α[β d1 + (1-β) d2] with d_k = θk - θ0; the whole α = 0 edge
                 collapses onto the θ0 corner P0.

The mapped grid is split into triangles (two per grid cell); coincident mapped nodes are merged and
triangles that degenerate to zero area are dropped, so the barycentric α = 0 column becomes the
single θ0 vertex. Triangles touching a non-finite value are masked: nan/inf points stay blank.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

try:
    import matplotlib.pyplot as plt
    from matplotlib.colors import Normalize
    from matplotlib.tri import Triangulation
    from mpl_toolkits.mplot3d.axes3d import Axes3D
except ImportError as exc:  # pragma: no cover - exercised with matplotlib hidden in test_plot.py
    raise ImportError(
        "surface_probe.plot needs matplotlib, an optional extra: pip install 'surface-probe[plot]'"
    ) from exc

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from surface_probe.results import BasinResult, LineResult, SurfaceResult

__all__ = ["SurfaceMesh", "basins", "lines", "pairwise_matrix", "surface", "surface_mesh"]

CMAP = "viridis"
"""Perceptually uniform colour map used for every surface."""

_SQRT3_2 = float(np.sqrt(3.0) / 2.0)
# Barycentric triangle in the drawing plane: θ0 on top, θ1 bottom left, θ2 bottom right.
_TRIANGLE = np.array([[0.5, _SQRT3_2], [0.0, 0.0], [1.0, 0.0]])
# Corners θ1..θ4 of the bilinear patch at their (α, β) positions.
_QUAD = np.array([[1.0, 1.0], [0.0, 1.0], [1.0, 0.0], [0.0, 0.0]])
_KINDS = ("plane", "bilinear", "barycentric")


@dataclass(frozen=True)
class SurfaceMesh:
    """A grid result mapped into the drawing plane and triangulated.

    triangulation: nodes at their drawn positions; triangles touching a non-finite value are masked.
    values: (nodes,) metric value at each node (log10 of it with ``log=True``; nan where undefined).
    corners: (k, 2) drawn positions of the result's named weight sets (θ0, θ1, θ2 for a triangle,
        θ1..θ4 for a quad; empty for a plane), labelled by ``labels``.
    """

    triangulation: Triangulation
    values: np.ndarray
    corners: np.ndarray
    labels: tuple[str, ...]
    kind: str
    value_label: str


def _metric(result: LineResult | SurfaceResult, metric: str) -> np.ndarray:
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


def _value_label(metric: str, log: bool) -> str:
    return f"log10 {metric}" if log else metric


def _kind(result: SurfaceResult) -> str:
    kind = result.meta.get("kind")
    if kind not in _KINDS:
        raise ValueError(f"SurfaceResult.meta['kind'] must be one of {_KINDS}, got {kind!r}")
    return str(kind)


def _mapped_grid(result: SurfaceResult, kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Drawn positions X, Y of every grid point, each (ny, nx) with x varying along axis 1, and the
    drawn corner positions (k, 2)."""
    a, b = np.meshgrid(np.asarray(result.x, np.float64), np.asarray(result.y, np.float64))
    if kind == "barycentric":
        p0, p1, p2 = _TRIANGLE
        pts = p0 + a[..., None] * (b[..., None] * (p1 - p0) + (1.0 - b[..., None]) * (p2 - p0))
        return pts[..., 0], pts[..., 1], _TRIANGLE
    return a, b, (_QUAD if kind == "bilinear" else np.empty((0, 2)))


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


def surface_mesh(
    result: SurfaceResult,
    metric: str = "loss",
    *,
    log: bool = False,
    labels: Sequence[str] | None = None,
) -> SurfaceMesh:
    """Map a grid result into the drawing plane (see the module docstring) and triangulate it.

    Grid cell (j, i)–(j+1, i+1) becomes the triangles (j,i)(j,i+1)(j+1,i+1) and
    (j,i)(j+1,i+1)(j+1,i). Mapped nodes within 1e-9 (relative) are merged, their value being
    the mean of the finite values landing there; zero-area triangles are dropped; triangles with a
    non-finite node are masked.
    """
    kind = _kind(result)
    values = _transform(_metric(result, metric), log)
    nx, ny = len(result.x), len(result.y)
    if values.shape != (ny, nx):
        raise ValueError(
            f"{metric} has shape {values.shape}, expected (len(y), len(x)) = ({ny}, {nx})"
        )
    if nx < 2 or ny < 2:
        raise ValueError(f"a surface needs at least a 2x2 grid, got len(x)={nx}, len(y)={ny}")
    mx, my, corners = _mapped_grid(result, kind)
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
    triangulation = Triangulation(xy[:, 0], xy[:, 1], triangles)
    triangulation.set_mask(~np.isfinite(node_values[triangulation.triangles]).all(axis=1))
    return SurfaceMesh(
        triangulation=triangulation,
        values=node_values,
        corners=corners,
        labels=_corner_labels(result, kind, labels),
        kind=kind,
        value_label=_value_label(metric, log),
    )


def _finite_range(meshes: Sequence[SurfaceMesh]) -> tuple[float, float] | None:
    """(min, max) of the finite values over all meshes, or None when there are none."""
    finite = np.concatenate([m.values[np.isfinite(m.values)] for m in meshes])
    if finite.size == 0:
        return None
    return float(finite.min()), float(finite.max())


def _norm(meshes: Sequence[SurfaceMesh]) -> Normalize | None:
    span = _finite_range(meshes)
    if span is None:
        return None
    lo, hi = span
    if hi <= lo:  # a flat surface still needs a non-empty colour range
        lo, hi = lo - 0.5, hi + 0.5
    return Normalize(vmin=lo, vmax=hi)


def _drawable(mesh: SurfaceMesh) -> np.ndarray:
    """Node values with non-finite entries replaced by the finite minimum.

    Those nodes belong only to masked triangles, so the placeholder is never drawn; it just keeps
    matplotlib's autoscaling finite.
    """
    finite = np.isfinite(mesh.values)
    return np.where(finite, mesh.values, mesh.values[finite].min())


def _no_data(ax: Axes) -> None:
    """Say so instead of drawing an empty panel (``text2D`` is the 2-D text of a 3-D axes)."""
    write = ax.text2D if isinstance(ax, Axes3D) else ax.text
    write(0.5, 0.5, "no finite values", ha="center", va="center", transform=ax.transAxes)


def _draw_3d(
    ax: Axes3D, mesh: SurfaceMesh, norm: Normalize | None, cmap: str, *, small: bool = False
) -> None:
    """Colour and height both show the value, as in the paper; ``small`` for grid panels."""
    if norm is None or mesh.triangulation.get_masked_triangles().size == 0:
        _no_data(ax)
        return
    z = _drawable(mesh)
    ax.plot_trisurf(mesh.triangulation, z, cmap=cmap, norm=norm, linewidth=0.0, antialiased=False)
    fontsize = "x-small" if small else "small"
    tri = mesh.triangulation
    for (cx, cy), label in zip(mesh.corners, mesh.labels, strict=True):
        nearest = int(np.argmin(np.hypot(tri.x - cx, tri.y - cy)))
        ax.text(cx, cy, float(z[nearest]), label, ha="center", va="bottom", fontsize=fontsize)
    if small:
        ax.tick_params(labelsize="xx-small", pad=0)
    else:
        ax.set_zlabel(mesh.value_label)


def _draw_contour(ax: Axes, mesh: SurfaceMesh, norm: Normalize | None, cmap: str) -> Any:
    """Filled contours (20 levels) with thin contour lines; corners marked and labelled."""
    if norm is None or mesh.triangulation.get_masked_triangles().size == 0:
        _no_data(ax)
        return None
    levels = np.linspace(float(norm.vmin), float(norm.vmax), 21)  # type: ignore[arg-type]
    z = _drawable(mesh)
    filled = ax.tricontourf(mesh.triangulation, z, levels=levels, cmap=cmap, norm=norm)
    ax.tricontour(mesh.triangulation, z, levels=levels, colors="k", linewidths=0.3, alpha=0.4)
    if len(mesh.corners):
        ax.plot(mesh.corners[:, 0], mesh.corners[:, 1], "k.", markersize=6)
        outward = mesh.corners - mesh.corners.mean(axis=0)
        outward /= np.maximum(np.linalg.norm(outward, axis=1, keepdims=True), 1e-12)
        at = mesh.corners + 0.08 * outward
        for corner, place, label in zip(mesh.corners, at, mesh.labels, strict=True):
            ax.annotate(label, corner, xytext=place, ha="center", va="center")
        ax.update_datalim(mesh.corners + 0.2 * outward)  # room for the labels
        ax.autoscale_view()
        ax.set_aspect("equal")
    return filled


def _grid_axis_labels(ax: Axes, kind: str) -> None:
    if kind == "plane":
        ax.set_xlabel("direction 1")
        ax.set_ylabel("direction 2")
    elif kind == "bilinear":
        ax.set_xlabel("α")
        ax.set_ylabel("β")
    else:
        ax.set_axis_off()


def surface(
    result: SurfaceResult,
    *,
    metric: str = "loss",
    style: Literal["both", "3d", "contour"] = "both",
    fig: Figure | None = None,
    log: bool = False,
    cmap: str = CMAP,
) -> Figure:
    """Draw a plane, bilinear or barycentric result in its own shape (see the module docstring).

    style="both" puts the 3-D surface (height and colour = value) left of the filled contour plot;
    "3d" or "contour" draws one of them. ``log=True`` draws log10 of the metric (loss often spans
    orders of magnitude). Corners are labelled with ``result.meta["labels"]`` when present.
    """
    if style not in ("both", "3d", "contour"):
        raise ValueError(f"style must be 'both', '3d' or 'contour', got {style!r}")
    mesh = surface_mesh(result, metric, log=log)
    norm = _norm([mesh])
    if fig is None:
        fig = plt.figure(figsize=(11.0, 4.8) if style == "both" else (6.0, 5.0))
    panels = ["3d", "contour"] if style == "both" else [style]
    for k, panel in enumerate(panels, start=1):
        if panel == "3d":
            ax3 = fig.add_subplot(1, len(panels), k, projection="3d")
            _draw_3d(ax3, mesh, norm, cmap)
            if mesh.kind == "barycentric":
                ax3.set_xticks([])
                ax3.set_yticks([])
            else:
                _grid_axis_labels(ax3, mesh.kind)
        else:
            ax = fig.add_subplot(1, len(panels), k)
            filled = _draw_contour(ax, mesh, norm, cmap)
            _grid_axis_labels(ax, mesh.kind)
            if filled is not None:
                fig.colorbar(filled, ax=ax, label=mesh.value_label)
    return fig


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
        ax.plot(_line_x(result, x, name), _metric(result, metric), label=name)
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


def _check_pairs(keys: Sequence[tuple[int, int]], n: int, lower: bool, what: str) -> None:
    for i, j in keys:
        if not (0 <= i < n and 0 <= j < n) or (i > j) != lower:
            side = "i > j (lower triangle)" if lower else "i < j (upper triangle)"
            raise ValueError(f"{what} key {(i, j)} must satisfy {side} with 0 <= i, j < {n}")


def pairwise_matrix(
    names: Sequence[str],
    surfaces: Mapping[tuple[int, int], SurfaceResult],
    distances: Mapping[tuple[int, int], LineResult],
    *,
    metric: str = "rms",
    twin: str | None = "disagreement",
    style: Literal["3d", "contour"] = "3d",
    log: bool = False,
    fig: Figure | None = None,
    cmap: str = CMAP,
) -> Figure:
    """The paper's Table 1 figure: an n×n grid for n optimizers (or runs) ``names``.

    Lower triangle (i > j): ``surfaces[(i, j)]``, the surface over (init, final_i, final_j), all
    panels on one shared colour scale. Upper triangle (i < j): ``distances[(i, j)]``, ``metric``
    (functional distance from final_i) along final_i → final_j against α, with ``twin`` (label
    disagreement) on a twin y axis. Diagonal: the names. Missing pairs are left empty.
    """
    n = len(names)
    if n < 2:
        raise ValueError(f"pairwise_matrix needs at least two names, got {n}")
    if style not in ("3d", "contour"):
        raise ValueError(f"style must be '3d' or 'contour', got {style!r}")
    _check_pairs(list(surfaces), n, lower=True, what="surfaces")
    _check_pairs(list(distances), n, lower=False, what="distances")
    meshes = {
        (i, j): surface_mesh(
            s,
            "loss",
            log=log,
            labels=("init", names[i], names[j]) if s.meta.get("kind") == "barycentric" else None,
        )
        for (i, j), s in surfaces.items()
    }
    norm = _norm(list(meshes.values())) if meshes else None
    if fig is None:
        fig = plt.figure(figsize=(3.2 * n, 2.9 * n))
    grid = fig.add_gridspec(n, n, wspace=0.6, hspace=0.4)
    for i in range(n):
        for j in range(n):
            if i > j and style == "3d":
                ax3 = fig.add_subplot(grid[i, j], projection="3d")
                if (i, j) in meshes:
                    _draw_3d(ax3, meshes[(i, j)], norm, cmap, small=True)
                ax3.set_xticks([])
                ax3.set_yticks([])
                continue
            ax = fig.add_subplot(grid[i, j])
            if i == j:
                ax.set_axis_off()
                ax.text(0.5, 0.5, names[i], ha="center", va="center", fontsize="large")
            elif i > j:
                if (i, j) in meshes:
                    _draw_contour(ax, meshes[(i, j)], norm, cmap)
                ax.set_axis_off()
            elif (i, j) in distances:
                _draw_distance(ax, distances[(i, j)], metric, twin)
            else:
                ax.set_axis_off()
    if norm is not None:
        mappable = plt.cm.ScalarMappable(norm=norm, cmap=cmap)
        fig.colorbar(mappable, ax=fig.axes, shrink=0.6, label=_value_label("loss", log))
    return fig


def _draw_distance(ax: Axes, result: LineResult, metric: str, twin: str | None) -> None:
    alphas = np.asarray(result.alphas, dtype=np.float64)
    ax.plot(alphas, _metric(result, metric), color="C0")
    ax.set_xlabel("α", fontsize="small")
    ax.set_ylabel(metric, color="C0", fontsize="small")
    ax.tick_params(labelsize="x-small")
    if twin is not None and twin != metric and twin in result.metrics:
        other = ax.twinx()
        other.plot(alphas, _metric(result, twin), color="C1", linestyle="--")
        other.set_ylabel(twin, color="C1", fontsize="small")
        other.tick_params(labelsize="x-small")
