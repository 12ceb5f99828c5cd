"""Figure 4 (paper §4.2): final training and test accuracy per optimizer and initialisation.

Besides mean ± std over seeds, a one-way ANOVA (``scipy.stats.f_oneway``) tests whether the test
accuracy differs between optimizers (groups = optimizers, samples = seeds) and between inits
(groups = seeds, samples = optimizers); the same ANOVA over optimizers on the *training* accuracy
is the control that shows the test can see a difference at this number of seeds.
"""

from __future__ import annotations

import math
from typing import Any, TypedDict

from ..claims import Claim, Record
from ..rules import Conditions, Controlled, Threshold
from ..stats import fmt, mean_std
from .context import Analysis, Context, final_acc, save_figure
from .runsets import restart_plan

NAME = "fig4"
TASK = "image"
SOURCE = "im_tao_branson"
TITLE = "Figure 4 — training and test accuracy per optimizer and initialisation"
POWER_P = 0.01
"""The control ANOVA (training accuracy over optimizers) must reach p below this."""


class Numbers(TypedDict):
    optimizers: list[str]
    accuracy: dict[str, dict[str, list[float]]]
    summary: dict[str, Any]
    anova_train_acc_optimizers_p: float
    anova_test_acc_optimizers_p: float
    anova_test_acc_inits_p: float


def anova(groups: list[list[float]]) -> float:
    """p-value of the one-way ANOVA over the ``groups`` of at least two samples (a group left
    with one run after screening has no spread to compare); nan when fewer than two such groups
    remain or all their values are equal."""
    from scipy.stats import f_oneway

    groups = [g for g in groups if len(g) >= 2]
    if len(groups) < 2:
        return math.nan
    flat = [v for g in groups for v in g]
    if max(flat) == min(flat):
        return math.nan
    return float(f_oneway(*groups).pvalue)


def plan(ctx: Context) -> dict[str, Any]:
    return restart_plan(ctx, "bn", ctx.preset.optimizers)


def analyse(ctx: Context, runs: dict[str, Any]) -> Analysis:
    p = ctx.preset
    kept = {o: ctx.screen(rs) for o, rs in runs.items()}
    acc = {
        split: {o: [final_acc(r, split) for r in rs] for o, rs in kept.items() if rs}
        for split in ("train", "test")
    }
    by_seed = [
        [final_acc(r, "test") for rs in kept.values() for r in rs if r.config.init_seed == s]
        for s in range(p.seeds)
    ]
    numbers = {
        "optimizers": list(p.optimizers),
        "accuracy": acc,
        "summary": {split: {o: mean_std(v) for o, v in per.items()} for split, per in acc.items()},
        "anova_train_acc_optimizers_p": anova(list(acc["train"].values())),
        "anova_test_acc_optimizers_p": anova(list(acc["test"].values())),
        "anova_test_acc_inits_p": anova([g for g in by_seed if g]),
    }
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    names = list(acc["train"])
    for ax, split in zip(axes, ("train", "test"), strict=True):
        for s in range(p.seeds):
            xs = [i for i, o in enumerate(names) if any(r.config.init_seed == s for r in kept[o])]
            ys = [final_acc(r, split) for o in names for r in kept[o] if r.config.init_seed == s]
            ax.plot(xs, ys, "o", label=f"init {s}")
        ax.set_xticks(range(len(names)), names, rotation=45)
        ax.set_ylabel(f"{split} accuracy")
        ax.legend()
    return numbers, [save_figure(ctx, NAME, "fig4", fig)]


def _stereotypy(n: Record) -> tuple[Any, str]:
    means = {o: float(sum(v) / len(v)) for o, v in n["accuracy"]["train"].items()}
    ranked = sorted(means, key=means.__getitem__)
    flags = [bool(ranked) and ranked[0] == "sgd", bool(ranked) and ranked[-1] in ADAPTIVE]
    ours = ", ".join(f"{o} {means[o]:.3f}" for o in ranked)
    return flags, f"mean train accuracy, ascending: {ours}"


def _powered(n: Record) -> bool:
    p = n["anova_train_acc_optimizers_p"]
    return math.isfinite(p) and p < POWER_P


def _anova_text(p: float, what: str, n: Record) -> str:
    control = n["anova_train_acc_optimizers_p"]
    return (
        f"one-way ANOVA of test accuracy over {what}: p = {p:.3g} (control: train accuracy "
        f"over optimizers p = {control:.3g})"
    )


def _test(n: Record) -> tuple[Any, str]:
    p = n["anova_test_acc_optimizers_p"]
    spread = "; ".join(f"{o} {fmt(v)}" for o, v in n["accuracy"]["test"].items())
    return (_powered(n), p), f"{_anova_text(p, 'optimizers', n)}; {spread}"


def _inits(n: Record) -> tuple[Any, str]:
    p = n["anova_test_acc_inits_p"]
    return (_powered(n), p), _anova_text(p, "initialisations", n)


ADAPTIVE = ("adam", "rmsprop", "adadelta")
_NO_DIFFERENCE = Threshold("ANOVA p", 0.05, 0.01)
_POWER = f"the same ANOVA finds the training accuracy different between optimizers (p < {POWER_P})"

CLAIMS = (
    Claim(
        "F4-stereotypy",
        NAME,
        "§4.2: training accuracy is stereotyped: SGD lowest, Adam/RMSprop/Adadelta highest.",
        Conditions(("SGD has the lowest mean train accuracy", "an adaptive method the highest")),
        "all optimizers from the same inits and minibatches, each at its pilot-chosen rate; "
        "failed runs left out",
        _stereotypy,
    ),
    Claim(
        "F4-test",
        NAME,
        "§4.2: test accuracy is not significantly different between optimizers.",
        Controlled(_NO_DIFFERENCE, _POWER),
        "a 'no difference' needs a test that can see one: " + _POWER + "; failed runs left out",
        _test,
    ),
    Claim(
        "F4-inits",
        NAME,
        "§4.2: no relationship between the initialisation and the test accuracy.",
        Controlled(_NO_DIFFERENCE, _POWER),
        "as for F4-test; failed runs left out",
        _inits,
    ),
)
