"""Table 1 (paper §4.1): every pair of optimizers trained from one initialisation.

For optimizers a, b with finals θ_a, θ_b from the shared θ_0:

* lower triangle: training loss over the triangle θ(α, β) = θ_0 + α[β(θ_a − θ_0) + (1−β)(θ_b − θ_0)]
  (``sp.barycentric``); its α = 1 edge is the straight path θ_b → θ_a, whose barrier
  ``max L − max(L(θ_a), L(θ_b))`` is recorded with its ratio to the init→final loss drop
  ``L(θ_0) − max(L(θ_a), L(θ_b))``;
* upper triangle: functional distance (RMS of the class-probability difference, eq. 4.1) and label
  disagreement between θ_a and each point of θ_a → θ_b on the test split
  (``sp.functional_distance_line``); at α = 1 they compare the two finals, and the disagreement
  is also divided by the sum of the two test errors (the most two networks can disagree on).
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import surface_probe as sp

from .context import Context, barrier, final_acc, save_figure, save_result

NAME = "table1"
TITLE = "Table 1 — different optimizers from one initialisation find different minima"


def run(ctx: Context) -> dict[str, Any] | None:
    p = ctx.preset
    names = p.optimizers
    runs = {o: ctx.train("bn", o, seed=0) for o in names}
    if ctx.only_train:
        return None
    model, probe, test = ctx.template("bn"), ctx.probe_data("bn"), ctx.test_data("bn")
    surfaces: dict[tuple[int, int], sp.SurfaceResult] = {}
    lines: dict[tuple[int, int], sp.LineResult] = {}
    pairs = []
    for i, j in combinations(range(len(names)), 2):
        a, b = runs[names[i]], runs[names[j]]
        surface = sp.barycentric(
            model, (a.init_state, a.final_state, b.final_state), probe, resolution=p.resolution
        )
        surface.meta["labels"] = ["init", names[i], names[j]]
        dist = sp.functional_distance_line(
            model, a.final_state, b.final_state, test, steps=p.line_steps
        )
        surfaces[(j, i)], lines[(i, j)] = surface, dist
        edge = surface.loss[:, -1]  # α = 1: β = 0 is θ_b, β = 1 is θ_a
        init_loss = float(surface.loss[0, 0])
        drop = init_loss - max(float(edge[0]), float(edge[-1]))
        err_a, err_b = 1 - final_acc(a, "test"), 1 - final_acc(b, "test")
        disagreement = float(dist.metrics["disagreement"][-1])
        pairs.append(
            {
                "a": names[i],
                "b": names[j],
                "init_loss": init_loss,
                "final_losses": [float(edge[-1]), float(edge[0])],
                "barrier": barrier(edge),
                "barrier_ratio": barrier(edge) / drop if drop > 0 else float("nan"),
                "rms": float(dist.metrics["rms"][-1]),
                "disagreement": disagreement,
                "test_errors": [err_a, err_b],
                "disagreement_ratio": disagreement / (err_a + err_b),
            }
        )
    fig = sp.plot.pairwise_matrix(list(names), surfaces, lines)
    figures = [save_figure(ctx, NAME, "table1", fig)]
    return save_result(ctx, NAME, {"optimizers": names, "pairs": pairs}, figures)
