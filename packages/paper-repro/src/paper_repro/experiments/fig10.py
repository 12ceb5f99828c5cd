"""Figure 10 (paper §3.3): init → final interpolation extended to α = 2,
θ(α) = (1−α)θ_0 + α θ_1 for α ∈ [0, 2] (``sp.line``), every optimizer and seed.

``rise`` = L(θ(2)) − L(θ(1)): positive when the loss climbs again past the final weights, the
paper's evidence that the finals are minima along this direction rather than points on a slope.
"""

from __future__ import annotations

from typing import Any, TypedDict

import numpy as np

import surface_probe as sp

from ..claims import Claim, Record
from ..rules import Share
from ..stats import fmt, mean_std
from .context import Analysis, Context, save_figure
from .runsets import restart_plan

NAME = "fig10"
TASK = "image"
SOURCE = "im_tao_branson"
TITLE = "Figure 10 — interpolation from init past the final weights to α = 2"


class Numbers(TypedDict):
    optimizers: list[str]
    alphas: list[float]
    loss: dict[str, list[list[float]]]
    rise: dict[str, list[float]]
    rise_summary: dict[str, Any]


def plan(ctx: Context) -> dict[str, Any]:
    return restart_plan(ctx, "bn", ctx.preset.optimizers)


def analyse(ctx: Context, planned: dict[str, Any]) -> Analysis:
    p = ctx.preset
    runs = {o: ctx.screen(rs) for o, rs in planned.items()}
    runs = {o: rs for o, rs in runs.items() if rs}
    model, probe = ctx.template("bn"), ctx.probe_data("bn")
    alphas = np.linspace(0.0, 2.0, 2 * p.line_steps - 1)
    lines = {
        o: [sp.line(model, r.init_state, r.final_state, probe, alphas=alphas) for r in rs]
        for o, rs in runs.items()
    }
    one = int(np.argmin(np.abs(alphas - 1.0)))
    rise = {o: [float(x.loss[-1] - x.loss[one]) for x in ls] for o, ls in lines.items()}
    numbers = {
        "optimizers": list(runs),
        "alphas": alphas,
        "loss": {o: [x.loss for x in ls] for o, ls in lines.items()},
        "rise": rise,
        "rise_summary": {o: mean_std(v) for o, v in rise.items()},
    }
    ax = sp.plot.lines({o: ls[0] for o, ls in lines.items()}, log=True)
    ax.axvline(1.0, color="grey", linewidth=0.8)
    return numbers, [save_figure(ctx, NAME, "fig10", ax.figure)]


def _rise(n: Record) -> tuple[Any, str]:
    rises = [v for vs in n["rise"].values() for v in vs]
    return [r > 0 for r in rises], f"L(α=2) − L(α=1) {fmt(rises)}"


CLAIMS = (
    Claim(
        "F10-rise",
        NAME,
        "§3.3, Fig. 10: interpolating past the final weights (α > 1) the loss increases.",
        Share("L(α=2) > L(α=1) per run"),
        "the run's own final loss L(α=1); failed runs left out",
        _rise,
    ),
)
