"""Figure 9 (appendix A.4): Runge–Kutta optimizers against SGD, SGD at twice the rate, and Adam.

For every label of ``preset.rk_comparison`` and seed: training loss and accuracy per epoch and per
gradient evaluation (an RK2 step costs two). ``loss_at_budget`` is the training loss after the
number of gradient evaluations plain SGD spends in the whole run (``np.interp`` over the run's
cumulative evaluations; an RK2 run reaches it at half its epochs).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .context import Context, curve, mean_std, save_figure, save_result

NAME = "fig9"
TITLE = "Figure 9 — Runge–Kutta optimizers (appendix A.4)"


def run(ctx: Context) -> dict[str, Any] | None:
    p = ctx.preset
    runs = {
        label: [ctx.train("bn", opt, seed=s, lr=p.lr[opt] * mult) for s in range(p.seeds)]
        for label, opt, mult in p.rk_comparison
    }
    if ctx.only_train:
        return None
    budget = float(runs[p.rk_comparison[0][0]][0].history[-1]["grad_evals"])
    final_loss = {k: [float(r.history[-1]["train_loss"]) for r in rs] for k, rs in runs.items()}
    at_budget = {
        k: [float(np.interp(budget, curve(r, "grad_evals"), curve(r, "train_loss"))) for r in rs]
        for k, rs in runs.items()
    }
    numbers = {
        "labels": [label for label, _, _ in p.rk_comparison],
        "budget": budget,
        "final_train_loss": final_loss,
        "final_train_loss_summary": {k: mean_std(v) for k, v in final_loss.items()},
        "loss_at_budget": at_budget,
        "loss_at_budget_summary": {k: mean_std(v) for k, v in at_budget.items()},
        "train_acc": {k: curve(rs[0], "train_acc") for k, rs in runs.items()},
        "grad_evals": {k: curve(rs[0], "grad_evals") for k, rs in runs.items()},
    }
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for k, rs in runs.items():
        axes[0].plot(curve(rs[0], "train_acc"), label=k)
        axes[1].plot(curve(rs[0], "grad_evals"), curve(rs[0], "train_acc"), label=k)
    axes[0].set_xlabel("epoch")
    axes[1].set_xlabel("gradient evaluations")
    for ax in axes:
        ax.set_ylabel("train accuracy (seed 0)")
        ax.legend(fontsize=7)
    figures = [save_figure(ctx, NAME, "fig9", fig)]
    return save_result(ctx, NAME, numbers, figures)
