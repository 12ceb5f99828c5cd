"""Surfaces drawn in the shape of the region they sample: 3-D and filled contours."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Literal

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import Normalize
from matplotlib.tri import Triangulation
from mpl_toolkits.mplot3d.axes3d import Axes3D

from surface_probe.mesh import GridMesh, grid_mesh

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from surface_probe.results import SurfaceResult

__all__ = ["CMAP", "SurfaceMesh", "surface", "surface_mesh"]

CMAP = "viridis"
"""Perceptually uniform colour map used for every surface."""


@dataclass(frozen=True)
class SurfaceMesh(GridMesh):
    """A :class:`~surface_probe.mesh.GridMesh` with its matplotlib ``triangulation``: nodes at
    their drawn positions, triangles touching a non-finite value masked."""

    triangulation: Triangulation


def surface_mesh(
    result: SurfaceResult,
    metric: str = "loss",
    *,
    log: bool = False,
    labels: Sequence[str] | None = None,
) -> SurfaceMesh:
    """:func:`mesh.grid_mesh` as a matplotlib ``Triangulation`` with non-finite triangles masked."""
    grid = grid_mesh(result, metric, log=log, labels=labels)
    triangulation = Triangulation(grid.nodes[:, 0], grid.nodes[:, 1], grid.triangles)
    triangulation.set_mask(grid.masked)
    same = {f.name: getattr(grid, f.name) for f in fields(grid)}
    return SurfaceMesh(**same, triangulation=triangulation)


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
