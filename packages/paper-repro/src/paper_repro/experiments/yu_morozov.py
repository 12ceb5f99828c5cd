"""Yu & Morozov: SGD against a full-batch quasi-Newton method — barriers, depth, generalisation.

Solutions: ``yu_morozov.solutions`` runs of each method from seeds 0 … n−1 (seed s: the same θ_0
for both methods) on the ``bn`` role —

* SGD at its pilot-chosen rate with the role's epochs and batch size: the very runs Figures 4–6
  train, loaded from the run cache;
* ``lbfgs_golden`` (L-BFGS whose step comes from a golden-section line search) full-batch: the
  batch is the whole training set, so each epoch is one quasi-Newton iteration on the exact
  training loss, for ``yu_morozov.iterations`` iterations; no rate to choose (the line search
  picks every step; its first trial step is 1).

Failed runs are screened out (:mod:`paper_repro.screening`). For every pair (a, b) of kept
solutions the Fourier path

    θ(t) = (1 − t) θ_a + t θ_b + Σ_{n=1}^{N} b_n sin(nπt),      N = ``yu_morozov.modes``,

starts on the straight line (b_n = 0) and is fitted by Adam for ``yu_morozov.fit_steps`` steps on
Σ_{m=1}^{M−1} L(θ(t_m)) + λ Σ_m ‖θ(t_{m+1}) − θ(t_m)‖² (t_m = m/M, M = ``yu_morozov.points``,
λ = 1e-4; ``sp.fit_path(objective="discrete")``). Its height H = max_t L(θ(t)) (Yu & Morozov's
barrier) is read from ``sp.path_profile`` on ``line_steps`` points, like the straight line's. The
pair's group is the method when both solutions share it, else "across". A solution's isolation is
the mean H of the fitted paths from it to every other solution; its depth is its final training
loss and its generalisation its test accuracy (the run's records, whole splits). The kernel-PCA
map (RBF kernel, 2σ² = the number of parameters, ``sp.solution_map``) of the final weights gives
each method's spread.

H is an absolute height: a path is at least as high as its higher end, so shallower SGD endpoints
raise the SGD barriers and SGD isolations — the direction against claims (a) and (b). The saddle
H − max(L_a, L_b) is saved beside it.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any, TypedDict

import numpy as np

import surface_probe as sp

from ..cost import DATASET_SHAPES
from ..train import RunResult
from .context import Analysis, Context, save_figure
from .yu_morozov_claims import CLAIMS as CLAIMS
from .yu_morozov_claims import METHODS, QN, SGD
from .yu_morozov_claims import NAME as NAME

SOURCE = "yu_morozov"
TASK = "image"
TITLE = "Yu & Morozov — SGD against a full-batch quasi-Newton method: barriers, depth, accuracy"
"""Claims, rules and thresholds: :mod:`paper_repro.experiments.yu_morozov_claims`."""

LAMBDA = 1e-4
"""λ of the path-fitting objective (Yu & Morozov's length penalty)."""

DEVIATIONS: tuple[str, ...] = (
    "Networks and data: the preset's `bn` role (the cpu preset: a 1-D CNN with BatchNorm on "
    "MNIST-1D) instead of Yu & Morozov's networks and data sets.",
    "Quasi-Newton: L-BFGS (history 10) with a golden-section line search, full-batch, for a "
    "fixed number of iterations (the preset's `yu_morozov.iterations`); BatchNorm running "
    "statistics are those of the whole training set at each iterate's weights.",
    "SGD: plain SGD at the rate the pilots chose from Im et al.'s grid, with the preset's "
    "epochs and batch size (the runs Figures 4–6 share), not trained to convergence: where it "
    "stops short of fitting the training set, claim (c)'s control fails and the claim is "
    "inconclusive.",
    "Paths: few Fourier terms, few Adam fitting steps and few points t_m, fitted and profiled "
    "on the first `yu_morozov.probe` training examples (the paper preset: N = 10, "
    "1,000 steps, M = 50); BatchNorm statistics re-estimated at every point of a path.",
    "Few solutions per method (cpu: 3), so the comparisons rest on 3 pairs per method.",
)


class Solution(TypedDict):
    name: str
    method: str
    seed: int
    train_loss: float
    train_acc: float
    test_acc: float
    isolation: float


class PathPair(TypedDict):
    a: str
    b: str
    group: str
    height: float
    line_height: float
    saddle: float
    endpoint_losses: list[float]


class Numbers(TypedDict):
    methods: list[str]
    failed: list[str]
    solutions: list[Solution]
    pairs: list[PathPair]
    map_spread: dict[str, float]
    weight_spread: dict[str, float]
    fourier_modes: int
    fit_steps: int


def plan(ctx: Context) -> dict[str, Any]:
    p = ctx.preset
    seeds = range(p.yu_morozov.solutions)
    full_batch = _train_size(ctx, "bn")
    qn_epochs = p.yu_morozov.iterations
    return {
        SGD: [ctx.config("bn", SGD, seed=s) for s in seeds],
        QN: [
            p.config("bn", QN, seed=s, lr=None, epochs=qn_epochs, batch_size=full_batch)
            for s in seeds
        ],
    }


def _train_size(ctx: Context, role: str) -> int:
    """The role's number of training examples (planning loads no data-set files)."""
    dataset = ctx.preset.setups[role].dataset
    if dataset in DATASET_SHAPES:
        return DATASET_SHAPES[dataset][1]
    return int(ctx.data(role).train_x.shape[0])


def _label(run: RunResult) -> str:
    return f"{run.config.schedule} s{run.config.init_seed}"


def _probe(ctx: Context) -> Any:
    x, y = ctx.probe_data("bn")
    n = ctx.preset.yu_morozov.probe or x.shape[0]
    return x[:n], y[:n]


def _pair(
    ctx: Context, model: Any, probe: Any, a: RunResult, b: RunResult
) -> tuple[PathPair, sp.PathResult]:
    """The straight line and the fitted Fourier path between two solutions (and the latter's
    profile)."""
    p = ctx.preset
    line = sp.path_profile(
        model, sp.path(model, a.final_state, b.final_state), probe, steps=p.line_steps
    )
    start = sp.path(model, a.final_state, b.final_state, kind="fourier", bends=p.yu_morozov.modes)
    fitted = sp.fit_path(
        model,
        start,
        probe,
        steps=p.yu_morozov.fit_steps,
        objective="discrete",
        lam=LAMBDA,
        points=p.yu_morozov.points,
    )
    profile = sp.path_profile(model, fitted, probe, steps=p.line_steps)
    group = a.config.schedule if a.config.schedule == b.config.schedule else "across"
    pair: PathPair = {
        "a": _label(a),
        "b": _label(b),
        "group": group,
        "height": profile.height,
        "line_height": line.height,
        "saddle": profile.saddle,
        "endpoint_losses": [float(profile.loss[0]), float(profile.loss[-1])],
    }
    return pair, profile


def analyse(ctx: Context, planned: dict[str, Any]) -> Analysis:
    kept = [r for m in METHODS for r in ctx.screen(planned[m])]
    names = {_label(r) for r in kept}
    failed = [_label(r) for m in METHODS for r in planned[m] if _label(r) not in names]
    model, probe = ctx.template("bn"), _probe(ctx)
    measured = [_pair(ctx, model, probe, a, b) for a, b in combinations(kept, 2)]
    pairs, profiles = [q for q, _ in measured], [r for _, r in measured]
    solutions: list[Solution] = []
    for run in kept:
        last, name = run.history[-1], _label(run)
        heights = [q["height"] for q in pairs if name in (q["a"], q["b"])]
        solutions.append(
            {
                "name": name,
                "method": run.config.schedule,
                "seed": run.config.init_seed,
                "train_loss": float(last["train_loss"]),
                "train_acc": float(last["train_acc"]),
                "test_acc": float(last["test_acc"]),
                "isolation": float(np.mean(heights)) if heights else float("nan"),
            }
        )
    methods = [m for m in METHODS if any(s["method"] == m for s in solutions)]
    spread: tuple[dict[str, float], dict[str, float]] = ({}, {})
    figures = []
    if len(kept) >= 2:
        groups = [r.config.schedule for r in kept]
        kpca = sp.solution_map(model, [r.final_state for r in kept], groups=groups)
        spread = kpca.map_spread, kpca.spread
        figures.append(save_figure(ctx, NAME, "yu_morozov", _figure(pairs, profiles, kpca)))
    numbers = {
        "methods": methods,
        "failed": failed,
        "solutions": solutions,
        "pairs": pairs,
        "map_spread": spread[0],
        "weight_spread": spread[1],
        "fourier_modes": ctx.preset.yu_morozov.modes,
        "fit_steps": ctx.preset.yu_morozov.fit_steps,
    }
    return numbers, figures


def _figure(pairs: list[PathPair], profiles: list[sp.PathResult], kpca: sp.SolutionMap) -> Any:
    """Fitted-path profiles per group (within SGD, within quasi-Newton, across) and the map."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(20, 4.5))
    for ax, group in zip(axes[:3], (*METHODS, "across"), strict=True):
        chosen = {
            f"{q['a']} – {q['b']}": r
            for q, r in zip(pairs, profiles, strict=True)
            if q["group"] == group
        }
        if chosen:
            sp.plot.paths.profiles(chosen, ax=ax)
            ax.legend(fontsize=6)
        ax.set_title(f"fitted Fourier paths: {group}")
    sp.plot.geometry.solution_map(kpca, ax=axes[3])
    spreads = ", ".join(f"{g} {v:.3g}" for g, v in kpca.map_spread.items())
    axes[3].set_title(f"kernel-PCA map of the weights (map spread: {spreads})", fontsize=9)
    fig.tight_layout()
    return fig
