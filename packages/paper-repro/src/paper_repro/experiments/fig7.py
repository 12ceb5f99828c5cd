"""Figure 7 (paper §4.3): switching optimizer (``preset.switch_pair``, SGD ↔ Adam) after a
fraction f ∈ ``switch_fractions`` of the epochs.

For method X switched to Y at epoch k = round(f·E) the run's schedule is ``X@η_X:k,Y@η_Y:E−k``; it
shares θ_0, minibatches and — bitwise — its first k epochs with the pure-X run. Recorded per seed:

* ``barrier_ratio``: barrier along final(pure X) → final(X→Y) (training loss, ``sp.line``) over the
  init → final loss drop; a positive barrier means the late switch still changed the minimum;
* ``closer_to_new``: whether, w = max(1, round(0.1 E)) epochs after the switch, the training
  accuracy is nearer the pure-Y run's than the pure-X run's at that epoch;
* ``dist_change``: ‖θ_E − θ_0‖ − ‖θ_k − θ_0‖ (negative: the distance from the init decreased).
"""

from __future__ import annotations

from typing import Any

import surface_probe as sp

from .context import Context, barrier, curve, save_figure, save_result
from .runsets import switch_label

NAME = "fig7"
TITLE = "Figure 7 — switching optimizers late in training"


def run(ctx: Context) -> dict[str, Any] | None:
    p = ctx.preset
    e = p.epochs
    first, second = p.switch_pair
    window = max(1, round(0.1 * e))
    plans = []
    for x, y in ((first, second), (second, first)):
        for f in p.switch_fractions:
            k = round(f * e)
            plans.append((x, y, k, f"{x}@{p.lr[x]}:{k},{y}@{p.lr[y]}:{e - k}"))
    seeds = range(p.seeds)
    pure = {o: [ctx.train("bn", o, seed=s) for s in seeds] for o in p.switch_pair}
    switched = {
        switch_label(x, y, k, e): [ctx.train("bn", sched, seed=s) for s in seeds]
        for x, y, k, sched in plans
    }
    if ctx.only_train:
        return None
    model, probe = ctx.template("bn"), ctx.probe_data("bn")
    records = []
    lines: dict[str, sp.LineResult] = {}
    for x, y, k, _ in plans:
        label = switch_label(x, y, k, e)
        for s in seeds:
            run_xy, run_x, run_y = switched[label][s], pure[x][s], pure[y][s]
            line = sp.line(model, run_x.final_state, run_xy.final_state, probe, steps=p.line_steps)
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
                    "closer_to_new": abs(acc - run_y.history[at]["train_acc"])
                    < abs(acc - run_x.history[at]["train_acc"]),
                    "dist_change": run_xy.history[e]["dist_from_init"]
                    - run_xy.history[k]["dist_from_init"],
                    "final_train_acc": run_xy.history[e]["train_acc"],
                }
            )
    curves = {name: rs[0] for name, rs in {**pure, **switched}.items()}
    numbers = {
        "switch_pair": p.switch_pair,
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
    sp.plot.lines(lines, ax=axes[2])
    axes[2].set_title("final(pure) → final(switched), seed 0")
    figures = [save_figure(ctx, NAME, "fig7", fig)]
    return save_result(ctx, NAME, numbers, figures)
