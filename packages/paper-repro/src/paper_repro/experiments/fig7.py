"""Figure 7 (paper §4.3): switching optimizer (``preset.switch_pair``, SGD ↔ Adam) after a
fraction f ∈ ``switch_fractions`` of the epochs.

For method X switched to Y at epoch k = round(f·E) the run's schedule is ``X@η_X:k,Y@η_Y:E−k``; it
shares θ_0, minibatches and — bitwise — its first k epochs with the pure-X run. Recorded per seed:

* ``barrier_ratio``: barrier along final(pure X) → final(X→Y) (training loss, ``sp.line``) over the
  init → final loss drop; a positive barrier means the late switch still changed the minimum;
* ``closer_to_new``: whether, w = max(1, round(0.1 E)) epochs after the switch, the training
  accuracy is nearer the pure-Y run's than the pure-X run's at that epoch;
* ``dist_change``: ‖θ_E − θ_0‖ − ‖θ_k − θ_0‖ (negative: the distance from the init decreased),
  and ``pure_dist_change``, the same for the pure-X run over the same epochs (the control: a
  decrease that pure X shows too is not caused by the switch);
* ``control_barrier_ratio``: the barrier between final(pure X) and a pure-X run from the same θ_0
  with another minibatch order (data seed + ``CONTROL_DATA_SEED``), over the same drop — how far
  apart minibatch noise alone puts two finals of one method.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypedDict

import surface_probe as sp

from ..claims import Claim, Record
from ..rules import BARRIER, Share
from ..stats import fmt
from ..train import TrainConfig
from .context import Analysis, Context, barrier, curve, save_figure
from .runsets import switch_label

NAME = "fig7"
TASK = "image"
SOURCE = "im_tao_branson"
TITLE = "Figure 7 — switching optimizers late in training"
CONTROL_DATA_SEED = 1000
ADAPTIVE = ("adam", "rmsprop", "adadelta")


class Numbers(TypedDict):
    switch_pair: list[str]
    epochs: int
    window: int
    switches: list[dict[str, Any]]
    train_acc: dict[str, list[float]]
    dist_from_init: dict[str, list[float]]


def _switches(ctx: Context) -> list[tuple[str, str, int, str]]:
    """(from, to, switch epoch, schedule) of every switched run."""
    e, (first, second) = ctx.preset.epochs, ctx.preset.switch_pair
    rate = {o: ctx.rate("bn", o) for o in (first, second)}
    return [
        (x, y, round(f * e), f"{x}@{rate[x]}:{round(f * e)},{y}@{rate[y]}:{e - round(f * e)}")
        for x, y in ((first, second), (second, first))
        for f in ctx.preset.switch_fractions
    ]


def _other_order(config: TrainConfig) -> TrainConfig:
    return dataclasses.replace(config, data_seed=config.data_seed + CONTROL_DATA_SEED)


def plan(ctx: Context) -> dict[str, Any]:
    p, seeds = ctx.preset, range(ctx.preset.seeds)
    pure = {o: [ctx.config("bn", o, seed=s) for s in seeds] for o in p.switch_pair}
    return {
        "pure": pure,
        "control": {o: [_other_order(c) for c in cs] for o, cs in pure.items()},
        "switched": {
            switch_label(x, y, k, p.epochs): [ctx.config("bn", sched, seed=s) for s in seeds]
            for x, y, k, sched in _switches(ctx)
        },
    }


def analyse(ctx: Context, runs: dict[str, Any]) -> Analysis:
    p = ctx.preset
    e = p.epochs
    window = max(1, round(0.1 * e))
    pure, control, switched = runs["pure"], runs["control"], runs["switched"]
    every = [r for group in (pure, control, switched) for rs in group.values() for r in rs]
    kept = {id(r) for r in ctx.screen(every)}
    model, probe = ctx.template("bn"), ctx.probe_data("bn")
    records = []
    lines: dict[str, sp.LineResult] = {}
    for x, y, k, _ in _switches(ctx):
        label = switch_label(x, y, k, e)
        for s in range(p.seeds):
            run_xy, run_x, run_y = switched[label][s], pure[x][s], pure[y][s]
            if any(id(r) not in kept for r in (run_xy, run_x, run_y, control[x][s])):
                continue
            line = sp.line(model, run_x.final_state, run_xy.final_state, probe, steps=p.line_steps)
            ref = sp.line(
                model, run_x.final_state, control[x][s].final_state, probe, steps=p.line_steps
            )
            if s == 0:
                lines[f"{x} → {label}"] = line
            drop = float(run_x.history[0]["train_loss"]) - max(line.loss[0], line.loss[-1])
            at = min(k + window, e)
            acc = run_xy.history[at]["train_acc"]
            records.append(
                {
                    "run": label,
                    "from": x,
                    "to": y,
                    "switch_epoch": k,
                    "seed": s,
                    "barrier": barrier(line.loss),
                    "barrier_ratio": barrier(line.loss) / drop,
                    "control_barrier_ratio": barrier(ref.loss) / drop,
                    "closer_to_new": abs(acc - run_y.history[at]["train_acc"])
                    < abs(acc - run_x.history[at]["train_acc"]),
                    "dist_change": run_xy.history[e]["dist_from_init"]
                    - run_xy.history[k]["dist_from_init"],
                    "pure_dist_change": run_x.history[e]["dist_from_init"]
                    - run_x.history[k]["dist_from_init"],
                    "final_train_acc": run_xy.history[e]["train_acc"],
                }
            )
    curves = {name: rs[0] for name, rs in {**pure, **switched}.items() if id(rs[0]) in kept}
    numbers = {
        "switch_pair": list(p.switch_pair),
        "epochs": e,
        "window": window,
        "switches": records,
        "train_acc": {n: curve(r, "train_acc") for n, r in curves.items()},
        "dist_from_init": {n: curve(r, "dist_from_init") for n, r in curves.items()},
    }
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(16, 4.5))
    for n, r in curves.items():
        axes[0].plot(curve(r, "train_acc"), label=n)
        axes[1].plot(curve(r, "dist_from_init"), label=n)
    axes[0].set_ylabel("train accuracy")
    axes[1].set_ylabel("‖θ_e − θ_0‖")
    for ax in axes[:2]:
        ax.set_xlabel("epoch")
        ax.legend(fontsize=6)
    if lines:
        sp.plot.lines(lines, ax=axes[2])
    axes[2].set_title("final(pure) → final(switched), seed 0")
    return numbers, [save_figure(ctx, NAME, "fig7", fig)]


def _minimum(n: Record) -> tuple[Any, str]:
    rs = n["switches"]
    flags = [
        r["barrier_ratio"] >= BARRIER and r["barrier_ratio"] > r["control_barrier_ratio"]
        for r in rs
    ]
    latest = max((r["switch_epoch"] for r in rs), default=0)
    late = [r["barrier_ratio"] for r in rs if r["switch_epoch"] == latest]
    ours = (
        f"barrier / drop {fmt(r['barrier_ratio'] for r in rs)} (latest switch {fmt(late)}); "
        f"control (pure, other minibatch order) {fmt(r['control_barrier_ratio'] for r in rs)}"
    )
    return flags, ours


def _jump(n: Record) -> tuple[Any, str]:
    flags = [bool(r["closer_to_new"]) for r in n["switches"]]
    ours = (
        f"{sum(flags)}/{len(flags)} switched runs nearer the new method {n['window']} epoch(s) on"
    )
    return flags, ours


def _distance(n: Record) -> tuple[Any, str]:
    first, second = n["switch_pair"]
    adaptive, plain = (first, second) if first in ADAPTIVE else (second, first)
    rs = [r for r in n["switches"] if r["from"] == adaptive and r["to"] == plain]
    flags = [r["dist_change"] < min(0.0, r["pure_dist_change"]) for r in rs]
    ours = (
        f"‖θ_E−θ_0‖ − ‖θ_k−θ_0‖ after {adaptive}→{plain}: {fmt(r['dist_change'] for r in rs)}; "
        f"pure {adaptive} over the same epochs: {fmt(r['pure_dist_change'] for r in rs)}"
    )
    return flags, ours


CLAIMS = (
    Claim(
        "F7-minimum",
        NAME,
        "§4.3: however late the switch (25/50/75 %), the minimum found is different.",
        Share(
            f"barrier between pure and switched finals ≥ {BARRIER:.0%} of the init→final loss "
            "drop AND above the control's barrier"
        ),
        "the pure run of the first method (same θ_0, same minibatches up to the switch), and the "
        "barrier between it and a pure run from the same θ_0 with another minibatch order "
        "(what noise alone gives); failed runs left out",
        _minimum,
    ),
    Claim(
        "F7-jump",
        NAME,
        "§4.3: after a switch the training accuracy jumps to the new method's characteristic "
        "level within a few epochs.",
        Share(
            "train accuracy nearer the pure new method's than the pure old method's, 10 % of the "
            "epochs after the switch"
        ),
        "the pure runs of both methods at the same epoch, same θ_0 and minibatches; failed runs "
        "left out",
        _jump,
    ),
    Claim(
        "F7-distance",
        NAME,
        "§4.3: distance from the init is characteristic per method and decreases after "
        "switching from Adam to SGD.",
        Share(
            "‖θ−θ_0‖ falls from the switch to the end of an Adam→SGD run, and by more than the "
            "pure Adam run's over the same epochs"
        ),
        "the pure Adam run over the same epochs (a fall it shows too is not the switch's); "
        "failed runs left out",
        _distance,
    ),
)
