"""Freeman & Bruna (2017), Dynamic String Sampling: do two minima stay connected below a loss
level as the level falls, and how curved is the string that connects them?

For every pair of minima θ_a, θ_b of ``preset.freeman_bruna_pairs`` — one optimizer's seeds 0 and
1, or two optimizers' seed-0 runs (the runs Table 1 and Figures 4–6 train) — with
L_end = max(L(θ_a), L(θ_b)) on the probe examples:

* the ladder: ``sp.dss`` at each level L0 = (1 + m)·L_end, m in ``preset.freeman_bruna_margins``
  (falling); a rung records whether the string stayed ≤ L0 (connected), its bead count, its
  normalized geodesic length Σ_i ‖θ_{i+1} − θ_i‖ / ‖θ_b − θ_a‖ (1 = the straight line) and its
  height re-sampled ``DENSER``× more finely (``dense_height``);
* the same after permutation alignment of θ_b to θ_a (:mod:`.alignment`; same function; when
  the permutation found is the identity the raw strings are reused);
* controls: DSS at ``ABOVE_LINE`` × the straight line's height H must return the straight line
  itself (connected, no interior bead, length 1); DSS between a minimum and its own untrained
  init θ_0 at the lowest rung must not connect; every connected string, re-sampled densely, must
  stay below L0 + ``DENSE_SLACK``·(L0 − L_end).

The claims, their rules and thresholds: :mod:`paper_repro.experiments.freeman_bruna_claims`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypedDict

import surface_probe as sp

from ..claims import Record
from ..train import RunResult, TrainConfig
from .alignment import aligned, permuted
from .context import Analysis, Context, save_figure
from .freeman_bruna_claims import ABOVE_LINE, DENSER, case_name
from .freeman_bruna_claims import CLAIMS as CLAIMS
from .freeman_bruna_claims import NAME as NAME

SOURCE = "freeman_bruna"
TASK = "image"
TITLE = "Freeman & Bruna — connectivity of the minima's level sets as the level falls"
BEAD_ALPHA = 0.9
"""A new bead descends until its loss is ≤ BEAD_ALPHA · L0 (Algorithm 1's α)."""

DEVIATIONS: tuple[str, ...] = (
    "Networks and data: the preset's main network (cpu: the 1-D CNN with BN on MNIST-1D) instead "
    "of the paper's CNNs and LSTM; the loss is measured on the first probe_examples training "
    "examples with BatchNorm statistics re-estimated at every probed point (beads descend with "
    "batch statistics).",
    "Pairs and levels: the minima are the final weights of the study's own runs (reused, not "
    "retrained), joined at a ladder of levels above the higher minimum, L0 = (1 + m)·max(L_a, "
    "L_b); the paper picks its pairs and levels from its own training runs.",
    "DSS budget: beads descend with Adam (lr 1e-2) to 0.9·L0 for at most freeman_bruna_bead_steps "
    "steps, recursion depth at most freeman_bruna_max_depth, segments sampled at line_steps "
    "points — 'not connected' means 'not found within this budget'.",
    "'Exponentially more curvy' is tested as monotone growth of the normalized geodesic length "
    "down the ladder; the rate is not fitted. Permutation alignment (weight matching) is our "
    "addition, not the paper's.",
)


class Rung(TypedDict):
    margin: float
    level: float
    connected: bool
    beads: int
    normalized_length: float
    dense_height: float


class Case(TypedDict):
    pair: str
    kind: str
    """"restarts" (one optimizer, seeds 0 and 1) or "optimizers" (two optimizers, seed 0)."""
    aligned: bool
    permuted: bool
    """Whether alignment moved any unit (False: the aligned case repeats the raw one)."""
    end_losses: list[float]
    line_height: float
    above_line: dict[str, Any]
    rungs: list[Rung]


class Numbers(TypedDict):
    margins: list[float]
    pairs: list[Case]
    untrained: list[dict[str, Any]]


def pair_label(a: str, b: str) -> str:
    return f"{a} s0–s1" if a == b else f"{a}–{b}"


def plan(ctx: Context) -> dict[str, list[TrainConfig]]:
    def runs(a: str, b: str) -> list[TrainConfig]:
        if a == b:
            return [ctx.config("bn", a, seed=0), ctx.config("bn", a, seed=1)]
        return [ctx.config("bn", a, seed=0), ctx.config("bn", b, seed=0)]

    return {pair_label(a, b): runs(a, b) for a, b in ctx.preset.freeman_bruna_pairs}


class _Strings:
    """DSS and profiles over one model, probe set and preset."""

    def __init__(self, ctx: Context) -> None:
        self.preset = ctx.preset
        self.model, self.probe = ctx.template("bn"), ctx.probe_data("bn")

    def dss(self, a: Any, b: Any, level: float) -> sp.StringResult:
        p = self.preset
        return sp.dss(
            self.model,
            a,
            b,
            self.probe,
            level=level,
            alpha=BEAD_ALPHA,
            max_depth=p.freeman_bruna_max_depth,
            samples=p.line_steps,
            bead_steps=p.freeman_bruna_bead_steps,
        )

    def profile(self, path: sp.Path, steps: int) -> sp.PathResult:
        return sp.path_profile(self.model, path, self.probe, steps=steps)

    def untrained(self, run: RunResult, level: float) -> dict[str, Any]:
        """The control pair: ``run``'s minimum and its own init θ_0, at ``level``."""
        ends = self.profile(sp.path(self.model, run.final_state, run.init_state), 2).loss
        string = self.dss(run.final_state, run.init_state, level)
        return {"level": level, "init_loss": float(ends[-1]), "connected": string.connected}

    def ladder(self, a: Any, b: Any) -> tuple[dict[str, Any], sp.PathResult]:
        """A case's line, above-line control and rungs; the lowest rung's dense profile."""
        steps = self.preset.line_steps
        line = self.profile(sp.path(self.model, a, b), steps)
        ends = [float(line.loss[0]), float(line.loss[-1])]
        above = self.dss(a, b, ABOVE_LINE * line.height)
        rungs = []
        for m in self.preset.freeman_bruna_margins:
            string = self.dss(a, b, (1.0 + m) * max(ends))
            dense = self.profile(string.path, DENSER * steps)
            rungs.append(
                {
                    "margin": m,
                    "level": string.level,
                    "connected": string.connected,
                    "beads": len(string.beads),
                    "normalized_length": string.normalized_length,
                    "dense_height": dense.height,
                }
            )
        case = {
            "end_losses": ends,
            "line_height": line.height,
            "above_line": {
                "level": above.level,
                "connected": above.connected,
                "beads": len(above.beads),
                "normalized_length": above.normalized_length,
            },
            "rungs": rungs,
        }
        return case, dense


def analyse(ctx: Context, planned: dict[str, list[RunResult]]) -> Analysis:
    strings = _Strings(ctx)
    cases: list[dict[str, Any]] = []
    lowest: dict[str, sp.PathResult] = {}
    untrained: list[dict[str, Any]] = []
    for a, b in dict.fromkeys(ctx.preset.freeman_bruna_pairs):
        label = pair_label(a, b)
        ra, rb = planned[label]
        if len(ctx.screen([ra, rb])) < 2:
            continue
        end = aligned(strings.model, ra.final_state, rb.final_state)
        moves = permuted(rb.final_state, end)
        case, lowest[label] = strings.ladder(ra.final_state, rb.final_state)
        moved = case  # the identity permutation: the same strings
        if moves:
            moved, lowest[label + " aligned"] = strings.ladder(ra.final_state, end)
        kind = "restarts" if a == b else "optimizers"
        for is_aligned, measured in ((False, case), (True, moved)):
            cases.append(
                {"pair": label, "kind": kind, "aligned": is_aligned, "permuted": moves, **measured}
            )
        if all(u["run"] != f"{a} s0" for u in untrained):
            level = case["rungs"][-1]["level"]  # the unaligned pair's lowest rung
            untrained.append({"run": f"{a} s0", **strings.untrained(ra, level)})
    numbers = {
        "margins": list(ctx.preset.freeman_bruna_margins),
        "pairs": cases,
        "untrained": untrained,
    }
    return numbers, [save_figure(ctx, NAME, "freeman_bruna", _figure(cases, lowest))]


def _figure(cases: Sequence[Record], lowest: dict[str, sp.PathResult]) -> Any:
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    for case in cases:
        x = [1.0 + r["margin"] for r in case["rungs"]]
        y = [r["normalized_length"] for r in case["rungs"]]
        (line,) = left.plot(x, y, "-", label=case_name(case))
        open_ = [i for i, r in enumerate(case["rungs"]) if not r["connected"]]
        left.plot(x, y, "o", color=line.get_color())
        left.plot([x[i] for i in open_], [y[i] for i in open_], "x", color="k", markersize=9)
    ticks = sorted({1.0 + r["margin"] for c in cases for r in c["rungs"]})
    left.set_xticks(ticks, [f"{t:g}" for t in ticks])
    left.invert_xaxis()
    left.set_xlabel("level L0 / max(L_a, L_b)  (falling →; × = not connected)")
    left.set_ylabel("normalized geodesic length")
    left.legend(fontsize=6)
    if lowest:
        sp.plot.paths.profiles(lowest, ax=right)
        right.legend(fontsize=6)
    right.set_title("loss along the DSS string at the lowest level")
    return fig
