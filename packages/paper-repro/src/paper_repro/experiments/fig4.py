"""Figure 4 (paper §4.2): final training and test accuracy per optimizer and initialisation.

Besides mean ± std over seeds, a one-way ANOVA (``scipy.stats.f_oneway``) tests whether the test
accuracy differs between optimizers (groups = optimizers, samples = seeds) and between inits
(groups = seeds, samples = optimizers).
"""

from __future__ import annotations

import math
from typing import Any

from .context import Context, final_acc, mean_std, save_figure, save_result
from .runsets import restarts

NAME = "fig4"
TITLE = "Figure 4 — training and test accuracy per optimizer and initialisation"


def anova(groups: list[list[float]]) -> float:
    """p-value of the one-way ANOVA over ``groups`` (nan when any group has < 2 samples or all
    values are equal)."""
    from scipy.stats import f_oneway

    if len(groups) < 2 or any(len(g) < 2 for g in groups):
        return math.nan
    flat = [v for g in groups for v in g]
    if max(flat) == min(flat):
        return math.nan
    return float(f_oneway(*groups).pvalue)


def run(ctx: Context) -> dict[str, Any] | None:
    p = ctx.preset
    runs = restarts(ctx, "bn", p.optimizers)
    if ctx.only_train:
        return None
    acc = {
        split: {o: [final_acc(r, split) for r in rs] for o, rs in runs.items()}
        for split in ("train", "test")
    }
    by_seed = [[acc["test"][o][s] for o in p.optimizers] for s in range(p.seeds)]
    numbers = {
        "optimizers": p.optimizers,
        "accuracy": acc,
        "summary": {split: {o: mean_std(v) for o, v in per.items()} for split, per in acc.items()},
        "anova_test_acc_optimizers_p": anova(list(acc["test"].values())),
        "anova_test_acc_inits_p": anova(by_seed),
    }
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=False)
    for ax, split in zip(axes, ("train", "test"), strict=True):
        for s in range(p.seeds):
            ax.plot(
                range(len(p.optimizers)),
                [acc[split][o][s] for o in p.optimizers],
                "o",
                label=f"init {s}",
            )
        ax.set_xticks(range(len(p.optimizers)), p.optimizers, rotation=45)
        ax.set_ylabel(f"{split} accuracy")
        ax.legend()
    figures = [save_figure(ctx, NAME, "fig4", fig)]
    return save_result(ctx, NAME, numbers, figures)
