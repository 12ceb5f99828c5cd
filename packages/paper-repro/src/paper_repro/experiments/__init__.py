"""The paper's figures and tables, one module each, in the paper's order.

Every module has ``NAME``, ``TITLE``, ``SOURCE`` (the key of its paper in
:data:`paper_repro.papers.PAPERS`), the ``Numbers`` it saves (a ``TypedDict``), its ``CLAIMS``,
optionally ``DEVIATIONS`` (its own departures from its paper, beyond the preset's) and two steps:

``plan(ctx)``            the training runs it needs (TrainConfigs nested in dicts and lists; the
                         rates come from the pilots, which run here when not cached);
``analyse(ctx, runs)``   the same nesting with every config replaced by its finished run →
                         ``(numbers, figures)``.

:func:`run_experiment` trains the plan, then — unless ``ctx.only_train`` — analyses it and writes
``OUT/<NAME>/result.json`` (with the failed runs the analysis left out).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from ..claims import Claim, Judgement, Record, judge
from ..papers import PAPERS
from ..presets import PRESETS, Preset
from . import (
    fig2_3,
    fig4,
    fig5_6,
    fig7,
    fig9,
    fig10,
    fig11,
    freeman_bruna,
    no_wrong_turns,
    table1,
    table1_lstm,
    table1_paths,
    table2_fig8,
    yu_morozov,
)
from .context import Analysis, Context, load_result, save_result


@dataclass(frozen=True)
class Experiment:
    name: str
    title: str
    task: str
    """The presets it applies to: "image" (classifiers) or "language" (``Preset.task``)."""
    source: str
    """The paper whose claims it judges (a key of :data:`paper_repro.papers.PAPERS`)."""
    plan: Callable[[Context], Any]
    analyse: Callable[[Context, Any], Analysis]
    numbers: type
    claims: tuple[Claim, ...]
    deviations: tuple[str, ...]


def _experiment(module: ModuleType) -> Experiment:
    if module.SOURCE not in PAPERS:
        raise ValueError(f"{module.__name__}.SOURCE {module.SOURCE!r} is not in papers.PAPERS")
    return Experiment(
        module.NAME,
        module.TITLE,
        module.TASK,
        module.SOURCE,
        module.plan,
        module.analyse,
        module.Numbers,
        module.CLAIMS,
        getattr(module, "DEVIATIONS", ()),
    )


EXPERIMENTS: dict[str, Experiment] = {
    m.NAME: _experiment(m)
    for m in (
        table1,
        table1_lstm,
        fig2_3,
        fig4,
        fig5_6,
        fig7,
        table2_fig8,
        fig9,
        fig10,
        fig11,
        freeman_bruna,
        table1_paths,
        no_wrong_turns,
        yu_morozov,
    )
}
"""Every experiment by name: the paper's, in its order, then the companion papers'."""


def applicable(task: str) -> list[str]:
    """The experiments of ``task`` ("image" or "language"), in the paper's order (what ``run all``
    runs under a preset of that task)."""
    return [name for name, exp in EXPERIMENTS.items() if exp.task == task]


def check_applies(name: str, preset: Preset) -> None:
    """Raise ``ValueError`` unless experiment ``name`` applies to ``preset``'s task."""
    exp = EXPERIMENTS[name]
    if exp.task != preset.task:
        fits = ", ".join(n for n, p in PRESETS.items() if p.task == exp.task)
        raise ValueError(
            f"experiment {name!r} applies to {exp.task} presets ({fits}); preset "
            f"{preset.name!r} has task {preset.task}"
        )


CLAIMS: tuple[Claim, ...] = tuple(c for e in EXPERIMENTS.values() for c in e.claims)
"""Every claim, in the paper's order (a claim judged on several tiers appears once per
experiment: ``T1-barrier`` for ``table1`` and ``table1_lstm``)."""


def judge_claim(claim: Claim, numbers: Record | None) -> Judgement:
    """``claims.judge`` against the numbers its experiment declares."""
    return judge(claim, numbers, EXPERIMENTS[claim.experiment].numbers)


def check_experiment(name: str) -> None:
    """Raise ``ValueError`` listing the valid names unless ``name`` is an experiment or "all"."""
    if name != "all" and name not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {name!r}; experiments: all, {', '.join(EXPERIMENTS)}")


def run_experiment(ctx: Context, name: str) -> dict[str, Any] | None:
    """Run experiment ``name`` unless its result already exists (then it is loaded)."""
    check_experiment(name)
    check_applies(name, ctx.preset)
    done = load_result(ctx.out_dir, name)
    if done is not None and not ctx.only_train:
        ctx.log(f"[{name}] already done, skipped")
        return done
    tic = time.perf_counter()
    exp = EXPERIMENTS[name]
    ctx.log(f"[{name}] {exp.title}")
    runs = ctx.train_all(exp.plan(ctx))
    if ctx.only_train:
        ctx.log(f"[{name}] trained in {time.perf_counter() - tic:.1f} s")
        return None
    ctx.excluded = []
    numbers, figures = exp.analyse(ctx, runs)
    result = save_result(ctx, name, numbers, figures)
    ctx.log(f"[{name}] done in {time.perf_counter() - tic:.1f} s")
    return result


__all__ = [
    "CLAIMS",
    "EXPERIMENTS",
    "Context",
    "Experiment",
    "applicable",
    "check_applies",
    "check_experiment",
    "judge_claim",
    "run_experiment",
]
