"""Figures drawn by paper_repro itself (the others come from ``surface_probe.plot``).

:func:`table1_figure` — the paper's Table 1 as a readable n×n grid: lower triangle the training
loss over θ(α, β) = θ_0 + α[β(θ_a − θ_0) + (1−β)(θ_b − θ_0)] for every pair, on one logarithmic
colour scale computed from the pairs of runs that trained; upper triangle the functional distance
and label disagreement of the two finals as numbers; a run that failed is marked in its cells
and kept off the colour scale.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

CMAP = "viridis"


def _log_norm(grids: Sequence[np.ndarray]) -> LogNorm:
    values = np.concatenate([g[np.isfinite(g) & (g > 0)].ravel() for g in grids] or [np.ones(1)])
    if values.size == 0:
        values = np.ones(1)
    low, high = float(values.min()), float(values.max())
    return LogNorm(vmin=low, vmax=high if high > low else low * 10)


def table1_figure(
    names: Sequence[str],
    surfaces: Mapping[tuple[int, int], np.ndarray],
    distances: Mapping[tuple[int, int], tuple[float, float]],
    failed: Collection[str] = (),
) -> Figure:
    """``surfaces[(i, j)]`` (i > j): loss grid indexed [β, α] for the pair (names[i], names[j]);
    ``distances[(i, j)]`` (i < j): (rms distance, disagreement) of their finals; ``failed``: the
    names of runs that diverged or failed."""
    import matplotlib.pyplot as plt

    n = len(names)
    trained = [
        g for (i, j), g in surfaces.items() if names[i] not in failed and names[j] not in failed
    ]
    norm = _log_norm(trained)
    fig, axes = plt.subplots(n, n, figsize=(1.35 * n + 1.2, 1.35 * n + 0.4), squeeze=False)
    fig.subplots_adjust(top=1 - 0.5 / (1.35 * n + 0.4), right=0.86)
    image = None
    for i in range(n):
        for j in range(n):
            ax = axes[i, j]
            ax.set_xticks([])
            ax.set_yticks([])
            broken = names[i] in failed or names[j] in failed
            if i == j:
                label = f"{names[i]}\n(failed)" if names[i] in failed else names[i]
                ax.text(0.5, 0.5, label, ha="center", va="center", fontsize=9, weight="bold")
                ax.set_facecolor("#eeeeee")
            elif broken:
                ax.set_facecolor("#dddddd")
                ax.text(0.5, 0.5, "failed\nrun", ha="center", va="center", fontsize=7)
            elif i > j and (i, j) in surfaces:
                grid = np.where(surfaces[(i, j)] > 0, surfaces[(i, j)], np.nan)
                image = ax.imshow(
                    grid, origin="lower", extent=(0, 1, 0, 1), cmap=CMAP, norm=norm, aspect="auto"
                )
            elif i < j and (i, j) in distances:
                rms, dis = distances[(i, j)]
                ax.text(
                    0.5, 0.5, f"rms {rms:.2f}\ndis {dis:.0%}", ha="center", va="center", fontsize=8
                )
    if image is not None:
        cbar = fig.colorbar(image, ax=axes, fraction=0.03, pad=0.02)
        cbar.set_label("training loss (log scale; lower triangle: α → θ_a/θ_b, β across)")
    fig.suptitle(
        "Table 1: loss over (init, final_a, final_b) below the diagonal; functional distance "
        "(rms) and label disagreement of the finals above",
        fontsize=9,
        y=1 - 0.15 / (1.35 * n + 0.4),
    )
    return fig
