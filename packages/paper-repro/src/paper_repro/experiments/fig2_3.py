"""Figures 2 and 3 (paper §4.1): two-dimensional slices between minima.

Figure 2 — bilinear patch (``sp.bilinear``) over two SGD runs from different inits s, s+1:
corners θ1 = final_s, θ2 = init_s, θ3 = final_{s+1}, θ4 = init_{s+1}, so
θ(α, β) = β[α θ1 + (1−α) θ2] + (1−β)[α θ3 + (1−α) θ4]: α runs init → final, β across the runs.
The α = 1 edge joins the two finals; its barrier (max L − larger end) is divided by the loss drop
``mean L(init) − max L(final)``.

Figure 3 — bilinear patch over the finals of four optimizers (``preset.quad``) from one init;
the recorded ``interior_excess`` is ``max L over the patch − max corner loss``, again as a ratio
of the init → final drop.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import surface_probe as sp

from .context import Context, barrier, save_figure, save_result

NAME = "fig2_3"
TITLE = "Figures 2 and 3 — surfaces between inits, finals and four optimizers' minima"


def run(ctx: Context) -> dict[str, Any] | None:
    p = ctx.preset
    sgd = [ctx.train("bn", "sgd", seed=s) for s in range(max(2, p.seeds))]
    quads = [{o: ctx.train("bn", o, seed=s) for o in p.quad} for s in range(p.seeds)]
    if ctx.only_train:
        return None
    model, probe = ctx.template("bn"), ctx.probe_data("bn")
    figures, two_inits, four = [], [], []
    for s in range(len(sgd) - 1):
        a, b = sgd[s], sgd[s + 1]
        corners = (a.final_state, a.init_state, b.final_state, b.init_state)
        surface = sp.bilinear(model, corners, probe, resolution=p.resolution)
        surface.meta["labels"] = [f"final {s}", f"init {s}", f"final {s + 1}", f"init {s + 1}"]
        edge = surface.loss[:, -1]
        drop = float(np.mean(surface.loss[[0, -1], 0])) - max(edge[0], edge[-1])
        two_inits.append(
            {
                "seeds": [s, s + 1],
                "barrier": barrier(edge),
                "barrier_ratio": barrier(edge) / drop,
            }
        )
        if s == 0:
            figures.append(save_figure(ctx, NAME, "fig2", sp.plot.surface(surface)))
    for s, runs in enumerate(quads):
        finals = [runs[o].final_state for o in p.quad]
        surface = sp.bilinear(model, finals, probe, resolution=p.resolution)
        surface.meta["labels"] = list(p.quad)
        corner_max = float(np.max(surface.loss[[0, 0, -1, -1], [0, -1, 0, -1]]))
        init_loss = float(runs[p.quad[0]].history[0]["train_loss"])
        excess = float(np.nanmax(surface.loss)) - corner_max
        four.append(
            {
                "seed": s,
                "interior_excess": excess,
                "excess_ratio": excess / (init_loss - corner_max),
            }
        )
        if s == 0:
            figures.append(save_figure(ctx, NAME, "fig3", sp.plot.surface(surface)))
    numbers = {"quad": p.quad, "two_inits": two_inits, "four_optimizers": four}
    return save_result(ctx, NAME, numbers, figures)
