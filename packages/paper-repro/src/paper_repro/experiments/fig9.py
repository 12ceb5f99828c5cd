"""Figure 9 (appendix A.4): Runge–Kutta optimizers against SGD, SGD at twice the rate, and Adam.

For every label of ``preset.rk_comparison`` and seed: training loss and accuracy per epoch and per
gradient evaluation (an RK2 step costs two). ``loss_at_budget`` is the training loss after the
number of gradient evaluations plain SGD spends in the whole run (``np.interp`` over the run's
cumulative evaluations; an RK2 run reaches it at half its epochs). Every optimizer trains at
its pilot-chosen rate (× the label's multiplier: "sgd x2" is SGD at twice SGD's chosen rate, the
control for the RK2 variants' two gradient evaluations per step).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypedDict

import numpy as np

from ..claims import Claim, Record
from ..rules import Each, Larger
from ..stats import fmt, mean_std
from .context import Analysis, Context, curve, save_figure

NAME = "fig9"
TASK = "image"
SOURCE = "im_tao_branson"
TITLE = "Figure 9 — Runge–Kutta optimizers (appendix A.4)"


class Numbers(TypedDict):
    labels: list[str]
    budget: float
    final_train_loss: dict[str, list[float]]
    final_train_loss_summary: dict[str, Any]
    loss_at_budget: dict[str, list[float]]
    loss_at_budget_summary: dict[str, Any]
    train_acc: dict[str, list[float]]
    grad_evals: dict[str, list[float]]


def plan(ctx: Context) -> dict[str, Any]:
    return {
        label: [ctx.config("bn", opt, seed=s, lr_scale=mult) for s in range(ctx.preset.seeds)]
        for label, opt, mult in ctx.preset.rk_comparison
    }


def analyse(ctx: Context, planned: dict[str, Any]) -> Analysis:
    runs = {k: ctx.screen(rs) for k, rs in planned.items()}
    runs = {k: rs for k, rs in runs.items() if rs}
    reference = planned[ctx.preset.rk_comparison[0][0]][0]
    budget = float(reference.history[-1]["grad_evals"])
    final_loss = {k: [float(r.history[-1]["train_loss"]) for r in rs] for k, rs in runs.items()}
    at_budget = {
        k: [float(np.interp(budget, curve(r, "grad_evals"), curve(r, "train_loss"))) for r in rs]
        for k, rs in runs.items()
    }
    numbers = {
        "labels": list(runs),
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
    return numbers, [save_figure(ctx, NAME, "fig9", fig)]


def _beats(
    key: str, winners: Sequence[str], losers: Sequence[str]
) -> Callable[[Record], tuple[Any, str]]:
    """Evidence that each of ``winners`` reaches a lower training loss (``numbers[key]``) than
    each of ``losers``: one (loser's, winner's) sample pair per comparison (missing: empty)."""

    def measure(n: Record) -> tuple[Any, str]:
        per = n[key]
        pairs = {
            f"{w} vs {lo}": (per.get(lo, []), per.get(w, [])) for w in winners for lo in losers
        }
        ours = "; ".join(f"{o} {fmt(per.get(o, []))}" for o in (*losers, *winners))
        return pairs, f"training loss: {ours}"

    return measure


def _lower_loss(winners: str, losers: str) -> Each:
    return Each(Larger(f"training loss of {losers}", f"that of {winners}"), "comparison")


_SAME = "same inits and minibatches, each at its pilot-chosen rate; failed runs left out"

CLAIMS = (
    Claim(
        "F9-rk-epoch",
        NAME,
        "A.4: Heun and Ralston outperform SGD.",
        _lower_loss("Heun / Ralston", "SGD and of SGD ×2"),
        "SGD at twice its rate ('sgd x2'), which takes steps as long as an RK2 step's two "
        "evaluations; " + _SAME,
        _beats("final_train_loss", ("heun", "ralston"), ("sgd", "sgd x2")),
    ),
    Claim(
        "F9-rk-evals",
        NAME,
        "A.4: the RK methods do better even with half the gradient evaluations of SGD.",
        _lower_loss("Heun / Ralston at SGD's gradient budget", "SGD"),
        "equal numbers of gradient evaluations (SGD's whole run); " + _SAME,
        _beats("loss_at_budget", ("heun", "ralston"), ("sgd",)),
    ),
    Claim(
        "F9-midpoint",
        NAME,
        "A.4: Midpoint is the exception (does not outperform SGD).",
        _lower_loss("SGD", "Midpoint"),
        "a Midpoint run that diverges is left out (its rate, not the method, failed); " + _SAME,
        _beats("final_train_loss", ("sgd",), ("midpoint",)),
    ),
    Claim(
        "F9-adam",
        NAME,
        "A.4: Adam outperforms Adam&RK2.",
        _lower_loss("Adam", "Adam&RK2"),
        _SAME,
        _beats("final_train_loss", ("adam",), ("adam_rk2",)),
    ),
)
