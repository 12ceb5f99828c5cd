"""The figures of :mod:`paper_repro.experiments.no_wrong_turns`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

import surface_probe as sp

_STATS = (("gamma", "γ = RSI/EB"), ("rsi", "RSI"), ("eb", "EB"))


def paths_figure(
    rows: Mapping[str, Mapping[str, np.ndarray]], shuffled: Mapping[str, Mapping[str, np.ndarray]]
) -> Any:
    """Per optimizer (one recording each, ``rows[name]``): RSI, EB and γ at every step of the
    minibatch gradient, the full-batch gradient, the random direction and, where recorded, the
    minibatch gradient of the shuffled-label run; RSI and EB on a symmetric-log scale (both grow
    like 1/‖w − w*‖ at the end of the path)."""
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(12.0, 3.4 * max(len(rows), 1)))
    panels = fig.subfigures(max(len(rows), 1), 1, squeeze=False)[:, 0]
    for panel, (name, recording) in zip(panels, rows.items(), strict=False):
        merged = dict(recording)
        if name in shuffled:
            merged |= {f"shuffled_{q}": shuffled[name][f"grad_{q}"] for q in ("rsi", "eb", "gamma")}
        sp.plot.geometry.geometry(merged, kinds=("grad", "full", "random", "shuffled"), fig=panel)
        for ax in panel.axes[:2]:
            ax.set_yscale("symlog", linthresh=1e-2)
        panel.suptitle(name, fontsize=9)
    return fig


def curves_figure(runs: Sequence[Mapping[str, Any]], shuffled: Sequence[Mapping[str, Any]]) -> Any:
    """γ, RSI and EB averaged over windows of the path (``curve`` of each summary) for every run,
    with the shuffled-label runs dashed and the random direction's γ dotted."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13.0, 3.8))
    for group, style in ((runs, "-"), (shuffled, "--")):
        for r in group:
            curve = r["curve"]
            x = (np.arange(len(curve["gamma"])) + 0.5) / len(curve["gamma"])
            for ax, (stat, _) in zip(axes, _STATS, strict=True):
                ax.plot(
                    x,
                    curve[stat],
                    style,
                    lw=1,
                    label=f"{r['optimizer']} s{r['seed']}" + (" shuffled" if style == "--" else ""),
                )
            if r is group[0] and style == "-":
                axes[0].plot(x, curve["random_gamma"], ":", color="grey", label="random direction")
    for ax, (stat, label) in zip(axes, _STATS, strict=True):
        ax.set_xlabel("fraction of the path")
        ax.set_ylabel(label)
        if stat != "gamma":
            ax.set_yscale("log")
    axes[0].axhline(0.0, color="black", lw=0.5)
    axes[2].legend(fontsize=5, ncol=2)
    return fig
