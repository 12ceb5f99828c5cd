"""Figure 10 (paper §3.3): init → final interpolation extended to α = 2,
θ(α) = (1−α)θ_0 + α θ_1 for α ∈ [0, 2] (``sp.line``), every optimizer and seed.

``rise`` = L(θ(2)) − L(θ(1)): positive when the loss climbs again past the final weights, the
paper's evidence that the finals are minima along this direction rather than points on a slope.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import surface_probe as sp

from .context import Context, mean_std, save_figure, save_result
from .runsets import restarts

NAME = "fig10"
TITLE = "Figure 10 — interpolation from init past the final weights to α = 2"


def run(ctx: Context) -> dict[str, Any] | None:
    p = ctx.preset
    runs = restarts(ctx, "bn", p.optimizers)
    if ctx.only_train:
        return None
    model, probe = ctx.template("bn"), ctx.probe_data("bn")
    alphas = np.linspace(0.0, 2.0, 2 * p.line_steps - 1)
    lines = {
        o: [sp.line(model, r.init_state, r.final_state, probe, alphas=alphas) for r in rs]
        for o, rs in runs.items()
    }
    one = int(np.argmin(np.abs(alphas - 1.0)))
    rise = {o: [float(x.loss[-1] - x.loss[one]) for x in ls] for o, ls in lines.items()}
    numbers = {
        "optimizers": p.optimizers,
        "alphas": alphas,
        "loss": {o: [x.loss for x in ls] for o, ls in lines.items()},
        "rise": rise,
        "rise_summary": {o: mean_std(v) for o, v in rise.items()},
    }
    ax = sp.plot.lines({o: ls[0] for o, ls in lines.items()}, log=True)
    ax.axvline(1.0, color="grey", linewidth=0.8)
    figures = [save_figure(ctx, NAME, "fig10", ax.figure)]
    return save_result(ctx, NAME, numbers, figures)
