"""Table 2 and Figure 8 (paper §4.4): the same comparison with and without batch normalization.

For both networks (roles ``bn`` and ``nobn``), every optimizer from every seed:

* dependence on the init: the std over seeds of the final test accuracy, averaged over optimizers;
* shape of the final → final loss curves of ``preset.basin_pairs`` (``sp.line``): the number of
  local maxima (interior points above both neighbours by more than 5 % of the curve's range; one
  peak = unimodal) and the width of the bump, the fraction of α where L exceeds
  ``max(L(0), L(1)) + barrier / 2``;
* Table 2: the barycentric surface over (θ_0, final_a, final_b) of the first basin pair, both
  networks, seed 0.
"""

from __future__ import annotations

import math
from typing import Any, TypedDict

import numpy as np

import surface_probe as sp

from ..claims import Claim, Record
from ..rules import Conditions, Threshold
from ..stats import mean_std
from .context import Analysis, Context, barrier, final_acc, save_figure
from .fig5_6 import same_seed
from .runsets import restart_plan

NAME = "table2_fig8"
TASK = "image"
SOURCE = "im_tao_branson"
TITLE = "Table 2 and Figure 8 — with and without batch normalization"
ROLES = ("bn", "nobn")


class Numbers(TypedDict):
    optimizers: list[str]
    pair: list[str]
    bn: dict[str, Any]
    nobn: dict[str, Any]


def peaks(loss: np.ndarray, prominence: float = 0.05) -> int:
    """Interior local maxima higher than both neighbours by ``prominence × range``."""
    finite = np.where(np.isfinite(loss), loss, np.nanmax(np.where(np.isfinite(loss), loss, 0)))
    tol = prominence * float(finite.max() - finite.min())
    mid = finite[1:-1]
    return int(np.sum((mid > finite[:-2] + tol) & (mid > finite[2:] + tol)))


def bump_width(loss: np.ndarray) -> float:
    """Fraction of the sampled path where L > max(L(0), L(1)) + barrier / 2."""
    level = max(loss[0], loss[-1]) + barrier(loss) / 2
    if barrier(loss) <= 0:
        return 0.0
    return float(np.mean(loss > level))


def plan(ctx: Context) -> dict[str, Any]:
    # no-BN first: the BN runs are shared with Figures 4-6 and 10, usually trained already
    return {role: restart_plan(ctx, role, ctx.preset.optimizers) for role in reversed(ROLES)}


def analyse(ctx: Context, planned: dict[str, Any]) -> Analysis:
    p = ctx.preset
    runs = {role: {o: ctx.screen(rs) for o, rs in per.items()} for role, per in planned.items()}
    a, b = p.basin_pairs[0]
    numbers: dict[str, Any] = {"optimizers": list(p.optimizers), "pair": [a, b]}
    figures = []
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    for row, role in enumerate(ROLES):
        model, probe = ctx.template(role), ctx.probe_data(role)
        test_acc = {o: [final_acc(r, "test") for r in rs] for o, rs in runs[role].items() if rs}
        spread = [mean_std(v)["std"] for v in test_acc.values() if len(v) > 1]
        init_final = {
            o: sp.line(model, rs[0].init_state, rs[0].final_state, probe, steps=p.line_steps)
            for o, rs in runs[role].items()
            if rs
        }
        pair_lines = {
            f"{x}-{y} s{rx.config.init_seed}": sp.line(
                model, rx.final_state, ry.final_state, probe, steps=p.line_steps
            )
            for x, y in p.basin_pairs
            for rx, ry in same_seed(runs[role][x], runs[role][y])
        }
        curves = [line.loss for line in pair_lines.values()]
        numbers[role] = {
            "test_acc": test_acc,
            "test_acc_summary": {o: mean_std(v) for o, v in test_acc.items()},
            "init_spread": float(np.mean(spread)) if spread else math.nan,
            "peaks": [peaks(c) for c in curves],
            "unimodal_fraction": float(np.mean([peaks(c) <= 1 for c in curves])),
            "bump_width": float(np.mean([bump_width(c) for c in curves])),
        }
        sp.plot.lines(init_final, ax=axes[row, 0])
        axes[row, 0].set_title(f"{role}: init → final (seed 0)")
        sp.plot.lines(pair_lines, ax=axes[row, 1])
        axes[row, 1].set_title(f"{role}: final → final")
        if not same_seed(runs[role][a], runs[role][b]):
            continue
        r0a, r0b = same_seed(runs[role][a], runs[role][b])[0]
        surface = sp.barycentric(
            model,
            (r0a.init_state, r0a.final_state, r0b.final_state),
            probe,
            resolution=p.resolution,
        )
        surface.meta["labels"] = ["init", a, b]
        figures.append(save_figure(ctx, NAME, f"table2_{role}", sp.plot.surface(surface)))
    figures.insert(0, save_figure(ctx, NAME, "fig8", fig))
    return numbers, figures


def _init(n: Record) -> tuple[Any, str]:
    bn, nobn = n["bn"]["init_spread"], n["nobn"]["init_spread"]
    ratio = nobn / bn if bn > 0 else (math.inf if nobn > 0 else math.nan)
    ours = f"std of test accuracy over inits: BN {bn:.4f}, no BN {nobn:.4f} (ratio {ratio:.2f})"
    return ratio, ours


def _shape(n: Record) -> tuple[Any, str]:
    bn, nobn = n["bn"], n["nobn"]
    flags = [
        nobn["unimodal_fraction"] < bn["unimodal_fraction"],
        nobn["bump_width"] > bn["bump_width"],
    ]
    ours = (
        f"unimodal share BN {bn['unimodal_fraction']:.2f} / no BN {nobn['unimodal_fraction']:.2f}; "
        f"bump width BN {bn['bump_width']:.2f} / no BN {nobn['bump_width']:.2f}"
    )
    return flags, ours


_BN_CONTROL = (
    "the same network with BN, same optimizers, inits and minibatches, each at the rate its "
    "pilot chose for that network; failed runs left out"
)

CLAIMS = (
    Claim(
        "T2-init",
        NAME,
        "§4.4: without BN the quality of the minimum depends much more on the init.",
        Threshold("std over inits of test accuracy (mean over optimizers), no BN / BN", 1.5, 1.0),
        _BN_CONTROL,
        _init,
    ),
    Claim(
        "F8-bumpy",
        NAME,
        "§4.4: with BN the final–final curves are sharp unimodal jumps; without BN wide bumpy "
        "shapes, not necessarily unimodal.",
        Conditions(("no-BN curves less often unimodal than BN's", "no-BN bumps wider than BN's")),
        _BN_CONTROL,
        _shape,
    ),
)
