"""Back to Im et al. (an extension of §4.1, not a verdict on it): does a low-loss curve, or a
permutation of hidden units, remove the barrier the straight line between Table 1's minima shows?

For every pair of optimizers a, b of Table 1 (their seed-0 runs from the shared θ_0 — Table 1's
runs, reused) and a path θ(t) from θ_a to θ_b, the barrier is ``max_t L(θ(t)) − max(L(θ_a),
L(θ_b))`` on the probe examples (``sp.path_profile``), divided by the init → final drop
``L(θ_0) − max(L(θ_a), L(θ_b))`` as in Table 1. Three paths:

* ``line``: the straight line (1 − t)θ_a + tθ_b, every pair;
* ``aligned``: the straight line after θ_b's hidden units are permuted to match θ_a (weight
  matching, :mod:`.alignment`; the permuted θ_b computes the same function; an identity
  permutation reuses the line's profile), every pair;
* ``curve``: a quadratic Bézier (1 − t)²θ_a + 2t(1 − t)w + t²θ_b (Garipov et al. 2018) whose bend
  w, started on the line's midpoint, is fitted by ``sp.fit_path`` (objective "expected", Adam
  lr ``FIT_LR``, ``preset.table1_paths_fit_steps`` steps, the iterate of lowest height kept — the
  line itself among them), for the ``preset.table1_paths_pairs`` pairs whose line barrier ratio
  is largest (0: every pair).
"""

from __future__ import annotations

from itertools import combinations
from typing import Any, TypedDict

import torch

import surface_probe as sp

from ..claims import Claim, Record
from ..rules import BARRIER, Controlled, Share
from ..stats import fmt
from ..train import RunResult
from . import table1
from .alignment import aligned, permuted
from .context import Analysis, Context, save_figure

NAME = "table1_paths"
SOURCE = "im_tao_branson_extension"
TASK = "image"
TITLE = "Table 1 revisited — curves and permutations between the optimizers' minima (extension)"
FIT_LR = 1e-2
SAME_FUNCTION = 1e-4
"""Alignment control: |L(aligned θ_b) − L(θ_b)| ≤ SAME_FUNCTION · L(θ_b) on every pair."""

DEVIATIONS: tuple[str, ...] = (
    "Not in the paper: Im et al. judge the straight line only (§4.1); curves (Garipov et al. "
    "2018, Draxler et al. 2018) and permutation alignment (Ainsworth et al. 2023) come later.",
    "Curves are fitted and measured on the same probe examples (the first probe_examples "
    "training examples); BatchNorm statistics are re-estimated at every probed point (the fit "
    "uses batch statistics).",
    "Only the table1_paths_pairs pairs with the largest straight-line barrier get a curve "
    "(cpu: 2, paper: all); the fit is short (table1_paths_fit_steps Adam steps).",
)


class Pair(TypedDict):
    a: str
    b: str
    init_loss: float
    final_losses: list[float]
    line_ratio: float
    aligned_ratio: float
    aligned_end_loss: float
    permuted: bool
    """Whether alignment moved any unit (False: the aligned line is the line)."""


class Curve(TypedDict):
    a: str
    b: str
    line_ratio: float
    curve_ratio: float
    curve_length: float
    """The curve's length over the chord ‖θ_b − θ_a‖."""


class Numbers(TypedDict):
    optimizers: list[str]
    failed: list[str]
    pairs: list[Pair]
    curves: list[Curve]


def plan(ctx: Context) -> dict[str, Any]:
    return table1.plan(ctx)


def _share(barrier: float, drop: float) -> float:
    """The barrier over the init → final drop (nan when nothing dropped)."""
    return barrier / drop if drop > 0 else float("nan")


def _fit(ctx: Context, model: Any, probe: Any, a: RunResult, b: RunResult) -> sp.Path:
    steps = ctx.preset.table1_paths_fit_steps
    return sp.fit_path(
        model,
        sp.path(model, a.final_state, b.final_state, kind="bezier"),
        probe,
        steps=steps,
        points=ctx.preset.line_steps - 1,
        keep="lowest_height",
        keep_every=max(1, steps // 4),
        optimizer=lambda params: torch.optim.Adam(params, lr=FIT_LR),
    )


def analyse(ctx: Context, runs: dict[str, RunResult]) -> Analysis:
    names = list(ctx.preset.optimizers)
    kept = {r.config.schedule for r in ctx.screen(list(runs.values()))}
    failed = [o for o in names if o not in kept]
    model, probe, steps = ctx.template("bn"), ctx.probe_data("bn"), ctx.preset.line_steps

    def profile(path: sp.Path) -> sp.PathResult:
        return sp.path_profile(model, path, probe, steps=steps)

    pairs: list[dict[str, Any]] = []
    profiles: dict[tuple[str, str], dict[str, sp.PathResult]] = {}
    trained = [runs[o] for o in names if o in kept]
    init_loss = (  # of the θ_0 every optimizer shares
        float(profile(sp.path(model, trained[0].init_state, trained[0].final_state)).loss[0])
        if trained
        else float("nan")
    )
    for ra, rb in combinations(trained, 2):
        a, b = ra.config.schedule, rb.config.schedule
        end = aligned(model, ra.final_state, rb.final_state)
        line = profile(sp.path(model, ra.final_state, rb.final_state))
        moves = permuted(rb.final_state, end)
        moved = profile(sp.path(model, ra.final_state, end)) if moves else line
        profiles[a, b] = {"straight line": line, "aligned straight line": moved}
        ends = [float(line.loss[0]), float(line.loss[-1])]
        drop = init_loss - max(ends)
        pairs.append(
            {
                "a": a,
                "b": b,
                "init_loss": init_loss,
                "final_losses": ends,
                "line_ratio": _share(line.saddle, drop),
                "aligned_ratio": _share(moved.saddle, drop),
                "aligned_end_loss": float(moved.loss[-1]),
                "permuted": moves,
            }
        )
    count = ctx.preset.table1_paths_pairs or len(pairs)
    curves = []
    for pair in sorted(pairs, key=lambda p: -p["line_ratio"])[:count]:
        a, b = pair["a"], pair["b"]
        curve = profile(_fit(ctx, model, probe, runs[a], runs[b]))
        profiles[a, b]["fitted Bézier curve"] = curve
        drop = pair["init_loss"] - max(pair["final_losses"])
        curves.append(
            {
                "a": a,
                "b": b,
                "line_ratio": pair["line_ratio"],
                "curve_ratio": _share(curve.saddle, drop),
                "curve_length": curve.length / curve.meta["chord"],
            }
        )
    numbers = {"optimizers": names, "failed": failed, "pairs": pairs, "curves": curves}
    shown = {(c["a"], c["b"]): profiles[c["a"], c["b"]] for c in curves}
    return numbers, [save_figure(ctx, NAME, "table1_paths", _figure(numbers, shown))]


def _figure(numbers: Record, profiles: dict[tuple[str, str], Any]) -> Any:
    import matplotlib.pyplot as plt

    shown = list(profiles)[:3]
    fig, axes = plt.subplots(1, 1 + len(shown), figsize=(5 * (1 + len(shown)), 4), squeeze=False)
    ax = axes[0, 0]
    pairs, curves = numbers["pairs"], numbers["curves"]
    x = [p["line_ratio"] for p in pairs]
    ax.plot(x, [p["aligned_ratio"] for p in pairs], "o", label="aligned straight line")
    cx, cy = [c["line_ratio"] for c in curves], [c["curve_ratio"] for c in curves]
    ax.plot(cx, cy, "s", label="fitted Bézier curve")
    top = max([*x, BARRIER]) * 1.05
    ax.plot([0, top], [0, top], "k:", linewidth=0.8)
    ax.axhline(BARRIER, color="grey", linewidth=0.8)
    ax.set_xlabel("straight-line barrier / drop")
    ax.set_ylabel("barrier / drop")
    ax.legend(fontsize=7)
    for panel, key in zip(axes[0, 1:], shown, strict=True):
        sp.plot.paths.profiles(profiles[key], ax=panel)
        panel.set_title(f"{key[0]} → {key[1]}")
        panel.legend(fontsize=7)
    return fig


def _with_barrier(pairs: list[Record]) -> list[Record]:
    return [p for p in pairs if p["line_ratio"] >= BARRIER]


def _curve(n: Record) -> tuple[Any, str]:
    ours = "; ".join(
        f"{c['a']}–{c['b']}: line {c['line_ratio']:.3f} → curve {c['curve_ratio']:.3f} "
        f"(length {c['curve_length']:.3f}× the chord)"
        for c in n["curves"]
    )
    flags = [c["curve_ratio"] < BARRIER for c in _with_barrier(n["curves"])]
    return flags, f"barrier / drop: {ours or 'no curve'}"


def _same_function(n: Record) -> bool:
    return all(
        abs(p["aligned_end_loss"] - p["final_losses"][1]) <= SAME_FUNCTION * p["final_losses"][1]
        for p in n["pairs"]
    )


def _permutation(n: Record) -> tuple[Any, str]:
    barred = _with_barrier(n["pairs"])
    ours = (
        f"barrier / drop on the {len(barred)} of {len(n['pairs'])} pairs whose line shows one: "
        f"line {fmt(p['line_ratio'] for p in barred)}, aligned line "
        f"{fmt(p['aligned_ratio'] for p in barred)}; all pairs: aligned "
        f"{fmt(p['aligned_ratio'] for p in n['pairs'])}; units permuted on "
        f"{sum(p['permuted'] for p in n['pairs'])} pairs; the aligned θ_b keeps its loss: "
        f"{'yes' if _same_function(n) else 'NO'}"
    )
    return (_same_function(n), [p["aligned_ratio"] < BARRIER for p in barred]), ours


_PAIRS = (
    f"per Table 1 pair whose straight line shows a barrier (≥ {BARRIER:.0%} of the init→final "
    "loss drop, T1-barrier's scale)"
)
_CONTROL = (
    "the straight line between the same two minima, measured by the same profile on the same "
    "examples; pairs where it shows no barrier have nothing to remove and are not counted; "
    "failed runs left out"
)

CLAIMS = (
    Claim(
        "X1-curve",
        NAME,
        "Extension of §4.1 (mode connectivity, Garipov et al. 2018): a low-loss curve joins the "
        "minima of two optimizers from one init without the barrier their straight line shows.",
        Share(f"fitted Bézier curve's barrier < {BARRIER:.0%} of the drop, {_PAIRS}"),
        _CONTROL,
        _curve,
    ),
    Claim(
        "X2-permutation",
        NAME,
        "Extension of §4.1 (Ainsworth et al. 2023): the straight line's barrier is a permutation "
        "artefact — after aligning hidden units it is gone.",
        Controlled(
            Share(f"aligned straight line's barrier < {BARRIER:.0%} of the drop, {_PAIRS}"),
            f"alignment keeps θ_b's function: its loss changes by ≤ {SAME_FUNCTION:g}× on every "
            "pair",
        ),
        _CONTROL,
        _permutation,
    ),
)
