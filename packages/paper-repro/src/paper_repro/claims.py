"""The paper's claims and the numeric rule that judges each one from an experiment's numbers.

Every verdict is computed from the saved numbers by one of three documented rules (never written
by hand):

``share``    "for every X": the share of cases meeting a condition. Reproduced when ≥ 90 % do, not
             reproduced when < 50 % do, inconclusive in between.
``larger``   "A is larger than B" on samples over seeds: d = mean(A) − mean(B),
             se = sqrt(var(A)/n_A + var(B)/n_B) (sample variances). Reproduced when d > 2·se,
             not reproduced when d ≤ 0, inconclusive when 0 < d ≤ 2·se.
``band``     a number against limits: reproduced / not reproduced / inconclusive by stated bounds.

Barriers are judged relative to the init → final loss drop: a path between two minima "rises
sharply" when its barrier is at least ``BARRIER`` = 5 % of L(θ_0) − max L(finals).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

REPRODUCED = "reproduced"
NOT_REPRODUCED = "not reproduced"
INCONCLUSIVE = "inconclusive"
NOT_RUN = "not run"

SHARE_HIGH, SHARE_LOW = 0.9, 0.5
BARRIER = 0.05
ADAM_FAMILY = ("adam", "adam_rk2")
SGD_FAMILY = ("sgd", "midpoint", "heun", "ralston")
ADAPTIVE = ("adam", "rmsprop", "adadelta")

Numbers = Mapping[str, Any]


@dataclass(frozen=True)
class Judgement:
    verdict: str
    ours: str


@dataclass(frozen=True)
class Claim:
    """One claim of the paper, where it is made, and how our numbers decide it."""

    id: str
    experiment: str
    paper: str
    rule: str
    judge: Callable[[Numbers], Judgement]


def fmt(values: Iterable[float]) -> str:
    """``mean ± std (n=…)`` of the finite values."""
    arr = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    if arr.size == 0:
        return "n/a"
    std = arr.std(ddof=1) if arr.size > 1 else 0.0
    return f"{arr.mean():.3g} ± {std:.2g} (n={arr.size})"


def share(flags: Sequence[bool]) -> str:
    """Verdict of the ``share`` rule."""
    if not flags:
        return INCONCLUSIVE
    frac = sum(flags) / len(flags)
    if frac >= SHARE_HIGH:
        return REPRODUCED
    return NOT_REPRODUCED if frac < SHARE_LOW else INCONCLUSIVE


def larger(a: Sequence[float], b: Sequence[float]) -> str:
    """Verdict of the ``larger`` rule for "A > B"."""
    xa = np.asarray([v for v in a if math.isfinite(v)], dtype=float)
    xb = np.asarray([v for v in b if math.isfinite(v)], dtype=float)
    if xa.size == 0 or xb.size == 0:
        return INCONCLUSIVE
    var_a = xa.var(ddof=1) / xa.size if xa.size > 1 else 0.0
    var_b = xb.var(ddof=1) / xb.size if xb.size > 1 else 0.0
    d, se = xa.mean() - xb.mean(), math.sqrt(var_a + var_b)
    if d > 2 * se:
        return REPRODUCED
    return NOT_REPRODUCED if d <= 0 else INCONCLUSIVE


def worst(verdicts: Iterable[str]) -> str:
    """Combine verdicts of claims that must all hold."""
    found = set(verdicts)
    for v in (NOT_REPRODUCED, INCONCLUSIVE):
        if v in found:
            return v
    return REPRODUCED if found else INCONCLUSIVE


def _pooled(per: Mapping[str, Sequence[float]], names: Iterable[str]) -> list[float]:
    return [v for n in names if n in per for v in per[n]]


# --- Table 1 -------------------------------------------------------------------------------


def _t1_barrier(n: Numbers) -> Judgement:
    ratios = [p["barrier_ratio"] for p in n["pairs"]]
    return Judgement(
        share([r >= BARRIER for r in ratios]), f"barrier / drop {fmt(ratios)} over pairs"
    )


def _t1_values(n: Numbers) -> Judgement:
    rms = float(np.mean([p["rms"] for p in n["pairs"]]))
    dis = float(np.mean([p["disagreement"] for p in n["pairs"]]))
    hits = [0.08 <= rms <= 0.32, 0.04 <= dis <= 0.16]
    verdict = REPRODUCED if all(hits) else NOT_REPRODUCED if not any(hits) else INCONCLUSIVE
    ours = f"rms {fmt(p['rms'] for p in n['pairs'])}; disagreement "
    return Judgement(verdict, ours + fmt(p["disagreement"] for p in n["pairs"]))


def _t1_fraction(n: Numbers) -> Judgement:
    ratios = [p["disagreement_ratio"] for p in n["pairs"]]
    mean = float(np.mean(ratios))
    verdict = REPRODUCED if mean >= 1 / 3 else NOT_REPRODUCED if mean < 1 / 6 else INCONCLUSIVE
    return Judgement(verdict, f"disagreement / (err_a + err_b) {fmt(ratios)}")


# --- Figures 2, 3 --------------------------------------------------------------------------


def _f2(n: Numbers) -> Judgement:
    ratios = [r["barrier_ratio"] for r in n["two_inits"]]
    return Judgement(share([r >= BARRIER for r in ratios]), f"barrier / drop {fmt(ratios)}")


def _f3(n: Numbers) -> Judgement:
    ratios = [r["excess_ratio"] for r in n["four_optimizers"]]
    return Judgement(share([r >= BARRIER for r in ratios]), f"excess / drop {fmt(ratios)}")


# --- Figure 4 ------------------------------------------------------------------------------


def _f4_stereotypy(n: Numbers) -> Judgement:
    means = {o: float(np.mean(v)) for o, v in n["accuracy"]["train"].items()}
    ranked = sorted(means, key=means.__getitem__)
    median = float(np.median(list(means.values())))
    if "sgd" not in means:
        return Judgement(INCONCLUSIVE, "sgd not trained")
    if ranked[0] == "sgd" and ranked[-1] in ADAPTIVE:
        verdict = REPRODUCED
    elif means["sgd"] > median:
        verdict = NOT_REPRODUCED
    else:
        verdict = INCONCLUSIVE
    ours = ", ".join(f"{o} {means[o]:.3f}" for o in ranked)
    return Judgement(verdict, f"mean train accuracy, ascending: {ours}")


def _anova(p: float, what: str) -> Judgement:
    if not math.isfinite(p):
        return Judgement(INCONCLUSIVE, f"ANOVA over {what}: not computable (too few seeds)")
    verdict = REPRODUCED if p >= 0.05 else NOT_REPRODUCED if p < 0.01 else INCONCLUSIVE
    return Judgement(verdict, f"one-way ANOVA of test accuracy over {what}: p = {p:.3g}")


def _f4_test(n: Numbers) -> Judgement:
    j = _anova(n["anova_test_acc_optimizers_p"], "optimizers")
    spread = "; ".join(f"{o} {fmt(v)}" for o, v in n["accuracy"]["test"].items())
    return Judgement(j.verdict, f"{j.ours}; {spread}")


def _f4_inits(n: Numbers) -> Judgement:
    return _anova(n["anova_test_acc_inits_p"], "initialisations")


# --- Figures 5, 6 --------------------------------------------------------------------------


def _f5_similar(n: Numbers) -> Judgement:
    r = float(n["curve_ratio"])
    if not math.isfinite(r):
        return Judgement(INCONCLUSIVE, "needs ≥ 2 seeds")
    verdict = REPRODUCED if r <= 0.5 else NOT_REPRODUCED if r >= 1.0 else INCONCLUSIVE
    return Judgement(verdict, f"within / between curve difference = {r:.3f}")


def _basin_claim(key: str) -> Callable[[Numbers], Judgement]:
    def judge(n: Numbers) -> Judgement:
        per = n[key]
        adam, sgd = _pooled(per, ADAM_FAMILY), _pooled(per, SGD_FAMILY)
        ours = f"Adam family {fmt(adam)} vs SGD/RK2 {fmt(sgd)}; " + ", ".join(
            f"{o} {fmt(v)}" for o, v in per.items()
        )
        return Judgement(larger(adam, sgd), ours)

    return judge


# --- Figure 7 ------------------------------------------------------------------------------


def _f7_minimum(n: Numbers) -> Judgement:
    rs = n["switches"]
    flags = [r["barrier_ratio"] >= BARRIER for r in rs]
    latest = max(r["switch_epoch"] for r in rs) if rs else 0
    late = [r["barrier_ratio"] for r in rs if r["switch_epoch"] == latest]
    ours = f"barrier / drop {fmt(r['barrier_ratio'] for r in rs)}; latest switch {fmt(late)}"
    return Judgement(share(flags), ours)


def _f7_jump(n: Numbers) -> Judgement:
    flags = [bool(r["closer_to_new"]) for r in n["switches"]]
    ours = (
        f"{sum(flags)}/{len(flags)} switched runs nearer the new method {n['window']} epoch(s) on"
    )
    return Judgement(share(flags), ours)


def _f7_distance(n: Numbers) -> Judgement:
    first, second = n["switch_pair"]
    adaptive, plain = (first, second) if first in ADAPTIVE else (second, first)
    rs = [r for r in n["switches"] if r["from"] == adaptive and r["to"] == plain]
    flags = [r["dist_change"] < 0 for r in rs]
    ours = f"‖θ_E−θ_0‖ − ‖θ_k−θ_0‖ after {adaptive}→{plain}: {fmt(r['dist_change'] for r in rs)}"
    return Judgement(share(flags), ours)


# --- Table 2, Figure 8 ---------------------------------------------------------------------


def _t2_init(n: Numbers) -> Judgement:
    bn, nobn = n["bn"]["init_spread"], n["nobn"]["init_spread"]
    ratio = nobn / bn if bn > 0 else (math.inf if nobn > 0 else math.nan)
    if math.isnan(ratio):
        return Judgement(INCONCLUSIVE, "no spread over seeds")
    verdict = REPRODUCED if ratio >= 1.5 else NOT_REPRODUCED if ratio <= 1.0 else INCONCLUSIVE
    ours = f"std of test accuracy over inits: BN {bn:.4f}, no BN {nobn:.4f} (ratio {ratio:.2f})"
    return Judgement(verdict, ours)


def _t2_shape(n: Numbers) -> Judgement:
    bn, nobn = n["bn"], n["nobn"]
    hits = [
        nobn["unimodal_fraction"] < bn["unimodal_fraction"],
        nobn["bump_width"] > bn["bump_width"],
    ]
    verdict = REPRODUCED if all(hits) else NOT_REPRODUCED if not any(hits) else INCONCLUSIVE
    ours = (
        f"unimodal share BN {bn['unimodal_fraction']:.2f} / no BN {nobn['unimodal_fraction']:.2f}; "
        f"bump width BN {bn['bump_width']:.2f} / no BN {nobn['bump_width']:.2f}"
    )
    return Judgement(verdict, ours)


# --- Figure 9 ------------------------------------------------------------------------------


def _beats(key: str, winners: Sequence[str], loser: str) -> Callable[[Numbers], Judgement]:
    """Each of ``winners`` reaches a lower training loss (``numbers[key]``) than ``loser``."""

    def judge(n: Numbers) -> Judgement:
        per = n[key]
        present = [w for w in winners if w in per]
        if loser not in per or not present:
            return Judgement(INCONCLUSIVE, f"{loser} or {list(winners)} not trained")
        verdict = worst(larger(per[loser], per[w]) for w in present)
        ours = "; ".join(f"{o} {fmt(per[o])}" for o in (loser, *present))
        return Judgement(verdict, f"training loss: {ours}")

    return judge


# --- Figure 10, 11 -------------------------------------------------------------------------


def _f10(n: Numbers) -> Judgement:
    rises = [v for vs in n["rise"].values() for v in vs]
    return Judgement(share([r > 0 for r in rises]), f"L(α=2) − L(α=1) {fmt(rises)}")


def _cells(n: Numbers, role: str, exotic: bool) -> list[Mapping[str, Any]]:
    return [c for c in n["cells"] if c["role"] == role and (c["init"] != "default") == exotic]


def _f11_nobn(n: Numbers) -> Judgement:
    level = n["chance"] + 0.05
    cells = _cells(n, "conv_nobn", True)
    flags = [c["train_acc_summary"]["mean"] <= level for c in cells]
    ours = "; ".join(f"{c['init']}: train acc {fmt(c['train_acc'])}" for c in cells)
    return Judgement(share(flags), f"{ours} (chance {n['chance']:.2f})")


def _f11_bn(n: Numbers) -> Judgement:
    level = n["chance"] + 0.05
    default = _cells(n, "conv_bn", False)
    cells = _cells(n, "conv_bn", True)
    if not default or not cells:
        return Judgement(INCONCLUSIVE, "default or exotic BN runs missing")
    trains = share([c["train_acc_summary"]["mean"] > level for c in cells])
    worse = worst(larger(default[0]["test_acc"], c["test_acc"]) for c in cells)
    ours = "; ".join(f"{c['init']}: test acc {fmt(c['test_acc'])}" for c in default + cells)
    return Judgement(worst([trains, worse]), ours)


def _f11_plateau(n: Numbers) -> Judgement:
    default = _cells(n, "conv_nobn", False)
    cells = _cells(n, "conv_nobn", True)
    if not default:
        return Judgement(INCONCLUSIVE, "default no-BN run missing")
    ref = default[0]["grad_norm"]["mean"]
    ratios = [c["grad_norm"]["mean"] / ref for c in cells]
    flags = [r <= 0.1 for r in ratios]
    ours = "; ".join(
        f"{c['init']}: ‖∇L(θ_0)‖ / default = {r:.3g}" for c, r in zip(cells, ratios, strict=True)
    )
    return Judgement(share(flags), ours)


_SHARE = "share rule: reproduced if ≥ 90 % of cases, not reproduced if < 50 %"
_LARGER = "larger rule (d > 2·se reproduced, d ≤ 0 not reproduced)"

CLAIMS: tuple[Claim, ...] = (
    Claim(
        "T1-barrier",
        "table1",
        "§4.1: for every pair of optimizers the training loss between their finals (same init, "
        "same minibatches) shows a sharp increase — each finds a different critical point.",
        f"barrier ≥ {BARRIER:.0%} of the init→final loss drop, per pair; {_SHARE}",
        _t1_barrier,
    ),
    Claim(
        "T1-distance",
        "table1",
        "§4.1: the average functional distance between finals is ≈ 0.16, a label disagreement "
        "of ≈ 8 % (NIN/VGG on CIFAR-10).",
        "reproduced if mean rms ∈ [0.08, 0.32] and mean disagreement ∈ [4 %, 16 %] (within "
        "2× of the paper), not reproduced if neither, else inconclusive",
        _t1_values,
    ),
    Claim(
        "T1-different",
        "table1",
        "§4.1: the networks disagree on over 1/3 of the most they could (8 % of 22 %): "
        "effectively different networks, not reparameterisations.",
        "mean disagreement / (err_a + err_b) ≥ 1/3 reproduced, < 1/6 not reproduced",
        _t1_fraction,
    ),
    Claim(
        "F2-inits",
        "fig2_3",
        "§4.1, Fig. 2: the SGD minima reached from two inits are separated by high loss.",
        f"barrier ≥ {BARRIER:.0%} of the loss drop along the final–final edge; {_SHARE}",
        _f2,
    ),
    Claim(
        "F3-quad",
        "fig2_3",
        "§4.1, Fig. 3: the minima of four optimizers from one init are separated by high loss.",
        f"max loss over the patch exceeds the worst corner by ≥ {BARRIER:.0%} of the loss "
        f"drop, per seed; {_SHARE}",
        _f3,
    ),
    Claim(
        "F4-stereotypy",
        "fig4",
        "§4.2: training accuracy is stereotyped: SGD lowest, Adam/RMSprop/Adadelta highest.",
        "reproduced if SGD has the lowest mean and an adaptive method the highest; not "
        "reproduced if SGD is above the median; else inconclusive",
        _f4_stereotypy,
    ),
    Claim(
        "F4-test",
        "fig4",
        "§4.2: test accuracy is not significantly different between optimizers.",
        "one-way ANOVA over optimizers: p ≥ 0.05 reproduced, p < 0.01 not reproduced",
        _f4_test,
    ),
    Claim(
        "F4-inits",
        "fig4",
        "§4.2: no relationship between the initialisation and the test accuracy.",
        "one-way ANOVA over inits: p ≥ 0.05 reproduced, p < 0.01 not reproduced",
        _f4_inits,
    ),
    Claim(
        "F5-characteristic",
        "fig5_6",
        "§4.2: curves look strikingly similar for restarts of one optimizer and "
        "characteristically different between optimizers.",
        "within/between RMS difference of init→final curves ≤ 0.5 reproduced, ≥ 1 not",
        _f5_similar,
    ),
    Claim(
        "F5-basin-alpha",
        "fig5_6",
        "§4.2, Fig. 5: basins of Adam and Adam&RK2 are larger than SGD's and RK2's (in α).",
        f"α-width of Adam family vs SGD family; {_LARGER}",
        _basin_claim("alpha_width"),
    ),
    Claim(
        "F6-basin-abs",
        "fig5_6",
        "§4.2, Fig. 6: basin size in absolute distance (eq. 1) also varies by optimizer, "
        "Adam-family basins larger.",
        f"basin radius (sp.basin toward θ_0) of Adam family vs SGD family; {_LARGER}",
        _basin_claim("basin_radius"),
    ),
    Claim(
        "F7-minimum",
        "fig7",
        "§4.3: however late the switch (25/50/75 %), the minimum found is different.",
        f"barrier ≥ {BARRIER:.0%} of the loss drop between pure and switched finals; {_SHARE}",
        _f7_minimum,
    ),
    Claim(
        "F7-jump",
        "fig7",
        "§4.3: after a switch the training accuracy jumps to the new method's characteristic "
        "level within a few epochs.",
        f"accuracy nearer the pure new method's than the old's 10 % of the epochs after the "
        f"switch; {_SHARE}",
        _f7_jump,
    ),
    Claim(
        "F7-distance",
        "fig7",
        "§4.3: distance from the init is characteristic per method and decreases after "
        "switching from Adam to SGD.",
        f"‖θ−θ_0‖ lower at the end than at the switch for Adam→SGD runs; {_SHARE}",
        _f7_distance,
    ),
    Claim(
        "T2-init",
        "table2_fig8",
        "§4.4: without BN the quality of the minimum depends much more on the init.",
        "std over inits of test accuracy (mean over optimizers), no BN / BN ≥ 1.5 reproduced, "
        "≤ 1 not reproduced",
        _t2_init,
    ),
    Claim(
        "F8-bumpy",
        "table2_fig8",
        "§4.4: with BN the final–final curves are sharp unimodal jumps; without BN wide bumpy "
        "shapes, not necessarily unimodal.",
        "reproduced if no-BN curves are less often unimodal AND wider than BN's; not "
        "reproduced if neither",
        _t2_shape,
    ),
    Claim(
        "F9-rk-epoch",
        "fig9",
        "A.4: Heun and Ralston outperform SGD.",
        f"final training loss, SGD larger than each; {_LARGER}",
        _beats("final_train_loss", ("heun", "ralston"), "sgd"),
    ),
    Claim(
        "F9-rk-evals",
        "fig9",
        "A.4: the RK methods do better even with half the gradient evaluations of SGD.",
        f"training loss at SGD's full gradient budget, SGD larger than each; {_LARGER}",
        _beats("loss_at_budget", ("heun", "ralston"), "sgd"),
    ),
    Claim(
        "F9-midpoint",
        "fig9",
        "A.4: Midpoint is the exception (does not outperform SGD).",
        f"final training loss, Midpoint larger than SGD; {_LARGER}",
        _beats("final_train_loss", ("sgd",), "midpoint"),
    ),
    Claim(
        "F9-adam",
        "fig9",
        "A.4: Adam outperforms Adam&RK2.",
        f"final training loss, Adam&RK2 larger than Adam; {_LARGER}",
        _beats("final_train_loss", ("adam",), "adam_rk2"),
    ),
    Claim(
        "F10-rise",
        "fig10",
        "§3.3, Fig. 10: interpolating past the final weights (α > 1) the loss increases.",
        f"L(α=2) > L(α=1) per run; {_SHARE}",
        _f10,
    ),
    Claim(
        "F11-nobn",
        "fig11",
        "A.5: NIN without BN does not train at all from N(−10, 0.01) or N(−1, 1).",
        f"final train accuracy ≤ chance + 5 points per exotic init; {_SHARE}",
        _f11_nobn,
    ),
    Claim(
        "F11-bn",
        "fig11",
        "A.5: with BN it trains (slowly) but to a worse minimum than from a small init.",
        "train accuracy > chance + 5 points (share rule) AND default-init test accuracy larger "
        f"({_LARGER}), for every exotic init",
        _f11_bn,
    ),
    Claim(
        "F11-plateau",
        "fig11",
        "A.5: the loss around these inits is a plateau rather than a bad local minimum.",
        f"‖∇L(θ_0)‖ ≤ 0.1 × the default init's (no BN), per exotic init; {_SHARE}",
        _f11_plateau,
    ),
)
"""Every claim the report judges, in the paper's order."""


def judge(claim: Claim, numbers: Numbers | None) -> Judgement:
    """The claim's verdict, ``not run`` without numbers, inconclusive on malformed numbers."""
    if numbers is None:
        return Judgement(NOT_RUN, "experiment not run")
    try:
        return claim.judge(numbers)
    except (KeyError, IndexError, TypeError, ValueError, ZeroDivisionError) as exc:
        return Judgement(INCONCLUSIVE, f"numbers incomplete ({type(exc).__name__}: {exc})")
