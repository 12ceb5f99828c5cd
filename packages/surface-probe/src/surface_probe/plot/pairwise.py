"""The paper's Table 1 figure: surfaces below the diagonal, functional distances above."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Literal

import matplotlib.pyplot as plt
import numpy as np

from surface_probe.mesh import metric_values, value_label

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from surface_probe.results import LineResult, SurfaceResult
from surface_probe.plot.surfaces import CMAP, _draw_3d, _draw_contour, _norm, surface_mesh

__all__ = ["pairwise_matrix"]


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
        fig.colorbar(mappable, ax=fig.axes, shrink=0.6, label=value_label("loss", log))
    return fig


def _draw_distance(ax: Axes, result: LineResult, metric: str, twin: str | None) -> None:
    alphas = np.asarray(result.alphas, dtype=np.float64)
    ax.plot(alphas, metric_values(result, metric), color="C0")
    ax.set_xlabel("α", fontsize="small")
    ax.set_ylabel(metric, color="C0", fontsize="small")
    ax.tick_params(labelsize="x-small")
    if twin is not None and twin != metric and twin in result.metrics:
        other = ax.twinx()
        other.plot(alphas, metric_values(result, twin), color="C1", linestyle="--")
        other.set_ylabel(twin, color="C1", fontsize="small")
        other.tick_params(labelsize="x-small")
