"""No Wrong Turns (Guille-Escuret et al.): RSI, EB and γ along every optimizer's path.

Every optimizer of the study (``preset.optimizers``) trains seeds ``0 … no_wrong_turns_seeds-1``
at its pilot-chosen rate — the very runs of Figures 4–6, so pass 1 of the two-pass protocol is the
run cache — and is retrained once with the recorder (:mod:`paper_repro.path_geometry`): per step
the minibatch gradient's RSI, EB and γ against the run's own end point, the full-batch gradient's
every ``no_wrong_turns_full_every`` steps on the first ``no_wrong_turns_full_examples`` training
examples, and a random direction of the same norm. The optimizers of ``no_wrong_turns_shuffled``
are also recorded on shuffled training labels (seed 0, same rate). For the Runge–Kutta optimizers
the recorded gradient is the combined direction ḡ = Σ b_i g_i of the step (what ``p.grad`` holds
after it). Failed runs (:mod:`paper_repro.screening`) are left out and listed.

Claims: NWT-positive — γ > 0 (hence RSI > 0) at ≥ ``POSITIVE`` of the steps, minibatch and
full-batch, while the random direction fails that test; NWT-stable — γ's window means over the band
``path_geometry.REGIME`` vary by a CV ≤ ``CV_MAX``, while ‖w − w*‖ over the same band does not;
NWT-consistent — the seeds of each optimizer agree on the regime's γ within ``SEED_SPREAD`` and
every run has the majority's outcome of the first two claims.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections import Counter
from typing import Any, TypedDict

import numpy as np

from ..claims import Claim, Record
from ..path_geometry import REGIME, record, summarise
from ..rules import AllOf, Controlled, Share
from ..screening import describe
from ..stats import fmt
from ..train import RunResult, TrainConfig
from .context import Analysis, Context, save_figure
from .no_wrong_turns_figures import curves_figure, paths_figure

NAME = "no_wrong_turns"
SOURCE = "no_wrong_turns"
TASK = "image"
TITLE = "No Wrong Turns — RSI, EB and γ along every optimizer's path"
DEVIATIONS = (
    "Networks and data: the preset's main network (the 1-D CNN with BN on MNIST-1D in the cpu "
    "preset) instead of the paper's image-classification, segmentation and language-modelling "
    "networks; the optimizers are those of Im et al.'s study (the Runge–Kutta ones included).",
    "The full-batch gradient is taken every few steps on the first training examples (all of "
    "them only in the paper preset), in eval mode for dropout and with batch statistics for BN.",
    "Runge–Kutta steps are judged by their combined direction ḡ (what the update follows).",
    "Stability is judged on γ = RSI/EB: with w* the path's end, RSI and EB both grow like "
    "1/‖w − w*‖ as the run nears it (reported beside, not judged); the GD step at the best "
    "rate η = RSI/EB² shrinks ‖w − w*‖ by the factor √(1 − γ²).",
    "Seeds and epochs reduced (the preset table); the shuffled-label baseline (training labels "
    "permuted, same rate) for a few optimizers only. The paper's text available here is its "
    "abstract: the thresholds (95 % of steps, CV ≤ 0.25 over 25–90 % of the path, seed spread "
    "≤ 25 %) are ours.",
)

POSITIVE = 0.95
"""A path makes no wrong turn when γ > 0 at ≥ this share of its recorded steps."""
CV_MAX = 0.25
"""A quantity is in a stable regime when the CV of its window means over ``REGIME`` ≤ this."""
CONTROL_SHARE = 0.9
"""The stability criterion's control: it must reject ‖w − w*‖ in at least this share of runs."""
SEED_SPREAD = 0.25
"""Seeds agree when (max − min) / |mean| of their regime-mean γ ≤ this."""


class RunGeometry(TypedDict):
    run: str
    optimizer: str
    seed: int
    steps: int
    positive_share: float
    full_positive_share: float
    random_positive_share: float
    regime_cv: dict[str, float]
    regime_gamma: float
    curve: dict[str, list[float]]


class Numbers(TypedDict):
    optimizers: list[str]
    seeds: int
    failed: list[str]
    runs: list[RunGeometry]
    shuffled: list[RunGeometry]


def shuffled_config(config: TrainConfig) -> TrainConfig:
    """``config`` on its data set with the training labels shuffled (seeded by its data seed)."""
    kwargs = {**config.dataset_kwargs, "shuffle_labels": config.data_seed}
    return dataclasses.replace(config, dataset_kwargs=kwargs)


def plan(ctx: Context) -> dict[str, Any]:
    p = ctx.preset
    return {
        "runs": {
            o: [ctx.config("bn", o, seed=s) for s in range(p.no_wrong_turns_seeds)]
            for o in p.optimizers
        },
        "shuffled": {
            o: [shuffled_config(ctx.config("bn", o, seed=0))] for o in p.no_wrong_turns_shuffled
        },
    }


def _geometry(ctx: Context, run: RunResult) -> dict[str, np.ndarray]:
    p = ctx.preset
    tic = time.perf_counter()
    rows = record(
        run,
        ctx.experiment_dir(NAME) / "recordings",
        ctx.bundle(run.config.dataset, run.config.dataset_kwargs),
        full_every=p.no_wrong_turns_full_every,
        full_examples=p.no_wrong_turns_full_examples,
        progress=ctx.progress,
    )
    ctx.log(f"  recorded {_label(run)} ({time.perf_counter() - tic:.1f} s)")
    return rows


def _label(run: RunResult) -> str:
    shuffled = "shuffle_labels" in run.config.dataset_kwargs
    return describe(run) + (" on shuffled labels" if shuffled else "")


def _entry(run: RunResult, rows: dict[str, np.ndarray]) -> dict[str, Any]:
    c = run.config
    return {"run": _label(run), "optimizer": c.schedule, "seed": c.init_seed, **summarise(rows)}


def _diverged(ctx: Context, run: RunResult) -> bool:
    """A shuffled-label run is a baseline (near-chance accuracy is its nature): it is left out
    only when its loss went non-finite, and then listed in ``ctx.excluded``."""
    finite = all(
        math.isfinite(float(h[k])) for h in run.history for k in ("train_loss", "test_loss")
    )
    if not finite:
        ctx.excluded.append({"run": _label(run), "reason": "diverged: non-finite loss"})
    return not finite


def analyse(ctx: Context, planned: dict[str, Any]) -> Analysis:
    names = list(ctx.preset.optimizers)
    kept = ctx.screen([r for rs in planned["runs"].values() for r in rs])
    ids = {id(r) for r in kept}
    failed = [describe(r) for rs in planned["runs"].values() for r in rs if id(r) not in ids]
    rows = {describe(r): _geometry(ctx, r) for r in kept}
    runs = [_entry(r, rows[describe(r)]) for r in kept]
    baselines = {o: rs[0] for o, rs in planned["shuffled"].items() if not _diverged(ctx, rs[0])}
    shuffled_rows = {o: _geometry(ctx, r) for o, r in baselines.items()}
    shuffled = [_entry(baselines[o], r) for o, r in shuffled_rows.items()]
    numbers = {
        "optimizers": names,
        "seeds": ctx.preset.no_wrong_turns_seeds,
        "failed": failed,
        "runs": runs,
        "shuffled": shuffled,
    }
    first: dict[str, dict[str, np.ndarray]] = {}
    for r in kept:
        first.setdefault(r.config.schedule, rows[describe(r)])
    figures = [
        save_figure(ctx, NAME, "paths", paths_figure(first, shuffled_rows)),
        save_figure(ctx, NAME, "curves", curves_figure(runs, shuffled)),
    ]
    return numbers, figures


def _passes(run: Record) -> bool:
    return bool(run["positive_share"] >= POSITIVE and run["full_positive_share"] >= POSITIVE)


def _stable(run: Record) -> bool:
    return float(run["regime_cv"]["gamma"]) <= CV_MAX


def _no_wrong_turns(n: Record) -> tuple[Any, str]:
    control = bool(n["runs"]) and all(r["random_positive_share"] < POSITIVE for r in n["runs"])
    ours = (
        f"share of steps with γ > 0: minibatch {fmt(r['positive_share'] for r in n['runs'])}, "
        f"full-batch {fmt(r['full_positive_share'] for r in n['runs'])}, random direction "
        f"{fmt(r['random_positive_share'] for r in n['runs'])}; shuffled labels "
        f"{fmt(r['positive_share'] for r in n['shuffled'])}"
    )
    return (control, [_passes(r) for r in n["runs"]]), ours


def _stable_regime(n: Record) -> tuple[Any, str]:
    changing = [r["regime_cv"]["distance"] > CV_MAX for r in n["runs"]]
    control = bool(changing) and sum(changing) >= CONTROL_SHARE * len(changing)
    ours = "; ".join(
        f"CV {q} {fmt(r['regime_cv'][q] for r in n['runs'])}"
        for q in ("gamma", "rsi", "eb", "distance")
    )
    ours += " (RSI and EB alone are not judged: both scale with 1/‖w − w*‖)"
    return (control, [_stable(r) for r in n["runs"]]), ours


def _consistent(n: Record) -> tuple[Any, str]:
    by_optimizer: dict[str, list[Record]] = {}
    for r in n["runs"]:
        by_optimizer.setdefault(r["optimizer"], []).append(r)
    spreads = {}
    for name, runs in by_optimizer.items():
        levels = np.asarray([float(r["regime_gamma"]) for r in runs])
        spreads[name] = float(np.ptp(levels) / abs(levels.mean())) if levels.mean() else np.inf
    outcomes = [(_passes(r), _stable(r)) for r in n["runs"]]
    majority = Counter(outcomes).most_common(1)[0][0] if outcomes else None
    enough = bool(by_optimizer) and all(len(rs) >= 2 for rs in by_optimizer.values())
    ours = (
        "seed spread of regime γ: "
        + ", ".join(f"{o} {s:.2f}" for o, s in spreads.items())
        + f"; runs with the majority outcome {sum(o == majority for o in outcomes)}/{len(outcomes)}"
    )
    evidence = ([s <= SEED_SPREAD for s in spreads.values()], [o == majority for o in outcomes])
    return (enough, evidence), ours


_RANDOM = "a random direction of the same norm at the same steps (γ ~ 0, half of its steps > 0)"
_SAME = (
    "the runs of Figures 4–6 (pilot-chosen rates, same inits and minibatches); failed runs left out"
)

CLAIMS = (
    Claim(
        "NWT-positive",
        NAME,
        "Abstract: γ (and RSI) stays positive along the whole optimization path — "
        "trajectories never meet a significant obstacle (no wrong turns).",
        Controlled(
            Share(f"per run: γ > 0 at ≥ {POSITIVE:.0%} of the steps, minibatch and full-batch"),
            f"the random-direction baseline fails that criterion in every run ({_RANDOM})",
        ),
        f"{_RANDOM}; the shuffled-label runs are shown beside it; {_SAME}",
        _no_wrong_turns,
    ),
    Claim(
        "NWT-stable",
        NAME,
        "Abstract: RSI and EB behave predictably and stay in a stable regime for the majority "
        "of training (judged on their ratio γ = RSI/EB, which sets the convergence rate).",
        Controlled(
            Share(
                f"per run: CV (std/|mean|) of the window means of γ = RSI/EB over "
                f"{REGIME[0]:.0%}–{REGIME[1]:.0%} of the steps ≤ {CV_MAX:g}"
            ),
            f"the distance ‖w − w*‖ over the same band fails that criterion in "
            f"≥ {CONTROL_SHARE:.0%} of runs",
        ),
        "the shrinking distance ‖w − w*‖ shows that the criterion rejects a quantity that "
        f"changes; {_SAME}",
        _stable_regime,
    ),
    Claim(
        "NWT-consistent",
        NAME,
        "Abstract: the behaviour is consistent across initialisation seeds and optimizers.",
        Controlled(
            AllOf(
                (
                    Share(f"per optimizer: seed spread of the regime-mean γ ≤ {SEED_SPREAD:.0%}"),
                    Share("per run: the NWT-positive and NWT-stable outcome of the majority"),
                )
            ),
            "every optimizer has ≥ 2 kept seeds",
        ),
        f"the regime-mean γ level of each seed sets the scale of its spread; {_SAME}",
        _consistent,
    ),
)
