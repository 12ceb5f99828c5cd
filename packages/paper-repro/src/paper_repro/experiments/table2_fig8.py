"""Table 2 and Figure 8 (paper §4.4): the same comparison with and without batch normalization.

For both networks (roles ``bn`` and ``nobn``), every optimizer from every seed:

* dependence on the init: the std over seeds of the final test accuracy, averaged over optimizers;
* shape of the final → final loss curves of ``preset.basin_pairs`` (``sp.line``): the number of
  local maxima (interior points above both neighbours by more than 5 % of the curve's range; one
  peak = unimodal) and the width of the bump, the fraction of α where L exceeds
  ``max(L(0), L(1)) + barrier / 2``;
* Table 2: the barycentric surface over (θ_0, final_a, final_b) of the first basin pair, both
  networks, seed 0.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import surface_probe as sp

from .context import Context, barrier, final_acc, mean_std, save_figure, save_result
from .runsets import restarts

NAME = "table2_fig8"
TITLE = "Table 2 and Figure 8 — with and without batch normalization"
ROLES = ("bn", "nobn")


def peaks(loss: np.ndarray, prominence: float = 0.05) -> int:
    """Interior local maxima higher than both neighbours by ``prominence × range``."""
    finite = np.where(np.isfinite(loss), loss, np.nanmax(np.where(np.isfinite(loss), loss, 0)))
    tol = prominence * float(finite.max() - finite.min())
    mid = finite[1:-1]
    return int(np.sum((mid > finite[:-2] + tol) & (mid > finite[2:] + tol)))


def bump_width(loss: np.ndarray) -> float:
    """Fraction of the sampled path where L > max(L(0), L(1)) + barrier / 2."""
    level = max(loss[0], loss[-1]) + barrier(loss) / 2
    if barrier(loss) <= 0:
        return 0.0
    return float(np.mean(loss > level))


def run(ctx: Context) -> dict[str, Any] | None:
    p = ctx.preset
    runs = {role: restarts(ctx, role, p.optimizers) for role in ROLES}
    if ctx.only_train:
        return None
    a, b = p.basin_pairs[0]
    numbers: dict[str, Any] = {"optimizers": p.optimizers, "pair": [a, b]}
    figures = []
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    for row, role in enumerate(ROLES):
        model, probe = ctx.template(role), ctx.probe_data(role)
        test_acc = {o: [final_acc(r, "test") for r in rs] for o, rs in runs[role].items()}
        spread = [mean_std(v)["std"] for v in test_acc.values()]
        init_final = {
            o: sp.line(model, rs[0].init_state, rs[0].final_state, probe, steps=p.line_steps)
            for o, rs in runs[role].items()
        }
        pair_lines = {
            f"{x}-{y} s{s}": sp.line(
                model,
                runs[role][x][s].final_state,
                runs[role][y][s].final_state,
                probe,
                steps=p.line_steps,
            )
            for x, y in p.basin_pairs
            for s in range(p.seeds)
        }
        curves = [line.loss for line in pair_lines.values()]
        numbers[role] = {
            "test_acc": test_acc,
            "test_acc_summary": {o: mean_std(v) for o, v in test_acc.items()},
            "init_spread": float(np.mean(spread)),
            "peaks": [peaks(c) for c in curves],
            "unimodal_fraction": float(np.mean([peaks(c) <= 1 for c in curves])),
            "bump_width": float(np.mean([bump_width(c) for c in curves])),
        }
        sp.plot.lines(init_final, ax=axes[row, 0])
        axes[row, 0].set_title(f"{role}: init → final (seed 0)")
        sp.plot.lines(pair_lines, ax=axes[row, 1])
        axes[row, 1].set_title(f"{role}: final → final")
        r0a, r0b = runs[role][a][0], runs[role][b][0]
        surface = sp.barycentric(
            model,
            (r0a.init_state, r0a.final_state, r0b.final_state),
            probe,
            resolution=p.resolution,
        )
        surface.meta["labels"] = ["init", a, b]
        figures.append(save_figure(ctx, NAME, f"table2_{role}", sp.plot.surface(surface)))
    figures.insert(0, save_figure(ctx, NAME, "fig8", fig))
    return save_result(ctx, NAME, numbers, figures)
