"""Figures 5 and 6 (paper §4.2): the loss around the minima of restarts of every optimizer.

Figure 5 — for every optimizer and seed: the loss along init → final, θ(α) = (1−α)θ_0 + α θ_1
(``sp.line``), and along final → final for ``preset.basin_pairs`` of each seed. Two summaries:

* ``alpha_width``: the basin width in α, ``1 − α_min`` with α_min the smallest α such that
  L(θ(α')) ≤ L(θ_1) + ε for every sampled α' ∈ [α_min, 1] (ε = ``basin_threshold``);
* ``curve_ratio``: mean RMS difference between the init → final loss curves of two restarts of the
  same optimizer, divided by the mean between runs of different optimizers (small: restarts look
  alike and optimizers look characteristically different).

Figure 6 — the same in absolute distance (paper eq. 1): ``sp.basin`` from θ_1 along the unit
direction to θ_0, out to ``basin_reach × ‖θ_0 − θ_1‖`` (past the init); the basin radius is the
largest r with L ≤ L(θ_1) + ε on [0, r].
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import combinations
from typing import Any, TypedDict

import numpy as np

import surface_probe as sp

from ..claims import Claim, Record
from ..rules import Larger, Threshold
from ..stats import fmt, mean_std
from ..train import RunResult
from .context import Analysis, Context, save_figure
from .runsets import restart_plan

NAME = "fig5_6"
TASK = "image"
SOURCE = "im_tao_branson"
TITLE = "Figures 5 and 6 — restarts of each optimizer: curves and basin sizes"
ADAM_FAMILY = ("adam", "adam_rk2")
SGD_FAMILY = ("sgd", "midpoint", "heun", "ralston")


class Numbers(TypedDict):
    optimizers: list[str]
    alphas: list[float]
    init_final_loss: dict[str, list[list[float]]]
    final_final_loss: dict[str, list[list[float]]]
    alpha_width: dict[str, list[float]]
    alpha_width_summary: dict[str, Any]
    basin_radius: dict[str, list[float]]
    basin_radius_summary: dict[str, Any]
    curve_ratio: float


def alpha_width(alphas: np.ndarray, loss: np.ndarray, threshold: float) -> float:
    """``1 − α_min`` (see the module docstring); ``alphas`` ascending with ``alphas[-1] = 1``."""
    ok = np.isfinite(loss) & (loss <= loss[-1] + threshold)
    k = len(loss) - 1
    while k > 0 and ok[k - 1]:
        k -= 1
    return float(alphas[-1] - alphas[k])


def curve_ratio(curves: dict[str, list[np.ndarray]]) -> float:
    """Mean within-optimizer RMS curve difference / mean between-optimizer difference."""
    items = [(o, c) for o, cs in curves.items() for c in cs]
    within: list[float] = []
    between: list[float] = []
    for (oa, ca), (ob, cb) in combinations(items, 2):
        (within if oa == ob else between).append(float(np.sqrt(np.mean((ca - cb) ** 2))))
    if not within or not between:
        return float("nan")
    return float(np.mean(within) / np.mean(between))


def basin(ctx: Context, model: Any, probe: Any, run: RunResult) -> sp.BasinResult:
    """Basin of ``run``'s final weights toward its init, in absolute distance (eq. 1)."""
    p = ctx.preset
    reach = p.basin_reach * float(run.history[-1]["dist_from_init"])
    return sp.basin(
        model,
        run.final_state,
        probe,
        direction=run.init_state,
        threshold=p.basin_threshold,
        max_distance=reach,
        steps=p.line_steps,
    )


def plan(ctx: Context) -> dict[str, Any]:
    return restart_plan(ctx, "bn", ctx.preset.optimizers)


def analyse(ctx: Context, planned: dict[str, Any]) -> Analysis:
    p = ctx.preset
    runs = {o: ctx.screen(rs) for o, rs in planned.items()}
    runs = {o: rs for o, rs in runs.items() if rs}
    model, probe = ctx.template("bn"), ctx.probe_data("bn")
    lines: dict[str, list[sp.LineResult]] = {
        o: [sp.line(model, r.init_state, r.final_state, probe, steps=p.line_steps) for r in rs]
        for o, rs in runs.items()
    }
    pair_lines = {
        f"{a}-{b}": [
            sp.line(model, ra.final_state, rb.final_state, probe, steps=p.line_steps)
            for ra, rb in same_seed(runs.get(a, []), runs.get(b, []))
        ]
        for a, b in p.basin_pairs
    }
    basins = {o: [basin(ctx, model, probe, r) for r in rs] for o, rs in runs.items()}
    widths = {
        o: [alpha_width(x.alphas, x.loss, p.basin_threshold) for x in ls] for o, ls in lines.items()
    }
    radii = {o: [float(b.radius[0]) for b in bs] for o, bs in basins.items()}
    numbers = {
        "optimizers": list(runs),
        "alphas": next(iter(lines.values()))[0].alphas,
        "init_final_loss": {o: [x.loss for x in ls] for o, ls in lines.items()},
        "final_final_loss": {k: [x.loss for x in ls] for k, ls in pair_lines.items()},
        "alpha_width": widths,
        "alpha_width_summary": {o: mean_std(v) for o, v in widths.items()},
        "basin_radius": radii,
        "basin_radius_summary": {o: mean_std(v) for o, v in radii.items()},
        "curve_ratio": curve_ratio({o: [x.loss for x in ls] for o, ls in lines.items()}),
    }
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    sp.plot.lines({f"{o} s{s}": x for o, ls in lines.items() for s, x in enumerate(ls)}, ax=axes[0])
    axes[0].set_title("init → final")
    sp.plot.lines(
        {f"{k} s{s}": x for k, ls in pair_lines.items() for s, x in enumerate(ls)}, ax=axes[1]
    )
    axes[1].set_title("final → final")
    for ax in axes:
        ax.legend(fontsize=5, ncol=2)
    figures = [save_figure(ctx, NAME, "fig5", fig)]
    figures.append(
        save_figure(ctx, NAME, "fig6", sp.plot.basins({o: b[0] for o, b in basins.items()}).figure)
    )
    return numbers, figures


def same_seed(a: Sequence[RunResult], b: Sequence[RunResult]) -> list[tuple[RunResult, RunResult]]:
    """The pairs of runs of ``a`` and ``b`` from the same seed."""
    by_seed = {r.config.init_seed: r for r in b}
    return [(r, by_seed[r.config.init_seed]) for r in a if r.config.init_seed in by_seed]


def _pooled(per: Mapping[str, Sequence[float]], names: Sequence[str]) -> list[float]:
    return [v for n in names if n in per for v in per[n]]


def _basin_measure(key: str) -> Any:
    def measure(n: Record) -> tuple[Any, str]:
        per = n[key]
        adam, sgd = _pooled(per, ADAM_FAMILY), _pooled(per, SGD_FAMILY)
        ours = f"Adam family {fmt(adam)} vs SGD/RK2 {fmt(sgd)}; " + ", ".join(
            f"{o} {fmt(v)}" for o, v in per.items()
        )
        return (adam, sgd), ours

    return measure


def _similar(n: Record) -> tuple[Any, str]:
    r = float(n["curve_ratio"])
    return r, f"within / between curve difference = {r:.3f}"


_BASIN_CONTROL = (
    "the SGD family (SGD and its RK2 variants) from the same inits and minibatches, each at its "
    "pilot-chosen rate; failed runs left out"
)

CLAIMS = (
    Claim(
        "F5-characteristic",
        NAME,
        "§4.2: curves look strikingly similar for restarts of one optimizer and "
        "characteristically different between optimizers.",
        Threshold("within/between RMS difference of init→final curves", 0.5, 1.0),
        "the difference between curves of different optimizers from the same inits (the "
        "denominator); failed runs left out",
        _similar,
    ),
    Claim(
        "F5-basin-alpha",
        NAME,
        "§4.2, Fig. 5: basins of Adam and Adam&RK2 are larger than SGD's and RK2's (in α).",
        Larger("α-width of the Adam family", "of the SGD family"),
        _BASIN_CONTROL,
        _basin_measure("alpha_width"),
    ),
    Claim(
        "F6-basin-abs",
        NAME,
        "§4.2, Fig. 6: basin size in absolute distance (eq. 1) also varies by optimizer, "
        "Adam-family basins larger.",
        Larger("basin radius (toward θ_0) of the Adam family", "of the SGD family"),
        _BASIN_CONTROL,
        _basin_measure("basin_radius"),
    ),
)
