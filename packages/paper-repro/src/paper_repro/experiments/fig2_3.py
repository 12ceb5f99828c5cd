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

from typing import Any, TypedDict

import numpy as np

import surface_probe as sp

from ..claims import Claim, Record
from ..rules import BARRIER, Share
from ..stats import fmt
from .context import Analysis, Context, barrier, save_figure

NAME = "fig2_3"
TASK = "image"
SOURCE = "im_tao_branson"
TITLE = "Figures 2 and 3 — surfaces between inits, finals and four optimizers' minima"


class Numbers(TypedDict):
    quad: list[str]
    two_inits: list[dict[str, Any]]
    four_optimizers: list[dict[str, Any]]


def plan(ctx: Context) -> dict[str, Any]:
    p = ctx.preset
    return {
        "sgd": [ctx.config("bn", "sgd", seed=s) for s in range(max(2, p.seeds))],
        "quads": [{o: ctx.config("bn", o, seed=s) for o in p.quad} for s in range(p.seeds)],
    }


def analyse(ctx: Context, runs: dict[str, Any]) -> Analysis:
    p = ctx.preset
    kept = {id(r) for r in ctx.screen(runs["sgd"] + [r for q in runs["quads"] for r in q.values()])}
    model, probe = ctx.template("bn"), ctx.probe_data("bn")
    figures: list[str] = []
    two_inits, four = [], []
    sgd = runs["sgd"]
    for s in range(len(sgd) - 1):
        a, b = sgd[s], sgd[s + 1]
        if id(a) not in kept or id(b) not in kept:
            continue
        corners = (a.final_state, a.init_state, b.final_state, b.init_state)
        surface = sp.bilinear(model, corners, probe, resolution=p.resolution)
        surface.meta["labels"] = [f"final {s}", f"init {s}", f"final {s + 1}", f"init {s + 1}"]
        edge = surface.loss[:, -1]
        drop = float(np.mean(surface.loss[[0, -1], 0])) - max(edge[0], edge[-1])
        two_inits.append(
            {"seeds": [s, s + 1], "barrier": barrier(edge), "barrier_ratio": barrier(edge) / drop}
        )
        if not figures:
            figures.append(save_figure(ctx, NAME, "fig2", sp.plot.surface(surface)))
    for s, quad in enumerate(runs["quads"]):
        if any(id(r) not in kept for r in quad.values()):
            continue
        finals = [quad[o].final_state for o in p.quad]
        surface = sp.bilinear(model, finals, probe, resolution=p.resolution)
        surface.meta["labels"] = list(p.quad)
        corner_max = float(np.max(surface.loss[[0, 0, -1, -1], [0, -1, 0, -1]]))
        init_loss = float(quad[p.quad[0]].history[0]["train_loss"])
        excess = float(np.nanmax(surface.loss)) - corner_max
        four.append(
            {
                "seed": s,
                "interior_excess": excess,
                "excess_ratio": excess / (init_loss - corner_max),
            }
        )
        if len(four) == 1:
            figures.append(save_figure(ctx, NAME, "fig3", sp.plot.surface(surface)))
    numbers = {"quad": list(p.quad), "two_inits": two_inits, "four_optimizers": four}
    return numbers, figures


def _two_inits(n: Record) -> tuple[Any, str]:
    ratios = [r["barrier_ratio"] for r in n["two_inits"]]
    return [r >= BARRIER for r in ratios], f"barrier / drop {fmt(ratios)}"


def _quad(n: Record) -> tuple[Any, str]:
    ratios = [r["excess_ratio"] for r in n["four_optimizers"]]
    return [r >= BARRIER for r in ratios], f"excess / drop {fmt(ratios)}"


CLAIMS = (
    Claim(
        "F2-inits",
        NAME,
        "§4.1, Fig. 2: the SGD minima reached from two inits are separated by high loss.",
        Share(f"barrier ≥ {BARRIER:.0%} of the init→final loss drop along the final–final edge"),
        "the init → final loss drop of the same two runs sets the scale; failed runs left out",
        _two_inits,
    ),
    Claim(
        "F3-quad",
        NAME,
        "§4.1, Fig. 3: the minima of four optimizers from one init are separated by high loss.",
        Share(
            f"max loss over the patch exceeds the worst corner by ≥ {BARRIER:.0%} of the "
            "init→final loss drop, per seed"
        ),
        "the worst of the four finals (corners) and the loss drop from the shared init; seeds "
        "with a failed run left out",
        _quad,
    ),
)
