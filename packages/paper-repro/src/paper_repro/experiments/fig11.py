"""Figure 11 (appendix A.5): NIN trained from exotic initialisations, with and without BN.

For every init of ``preset.exotic_inits`` (default, N(−10, 0.01), N(−1, 1): every parameter drawn
i.i.d.), both networks (roles ``conv_bn``, ``conv_nobn``) and every seed, trained with
``preset.exotic_optimizer`` for ``exotic_epochs`` at batch ``exotic_batch_size``. Recorded: final
train/test accuracy, initial and final training loss, and the plateau measure
``grad_norm`` = ‖∇L(θ_0)‖₂ on the probe examples (training mode, so BN uses batch statistics);
a plateau has a tiny gradient.

Controls: the exotic inits are judged against the default init of the same network and BN
setting, trained with the same optimizer, rate (chosen by the role's pilot on the default init),
budget and minibatches; "does not train without BN" counts only when the default init clearly
trains without BN in that budget (``CONTROL_MARGIN``). Nothing is screened out here: training
failure is the claim.
"""

from __future__ import annotations

from typing import Any, TypedDict

import torch
import torch.nn.functional as F

from ..claims import Claim, Record
from ..rules import AllOf, Controlled, Each, Larger, Share
from ..screening import CHANCE_MARGIN
from ..stats import fmt, mean_std
from ..train import build_initial_model
from .context import Analysis, Context, curve, final_acc, save_figure

NAME = "fig11"
TASK = "image"
SOURCE = "im_tao_branson"
TITLE = "Figure 11 — exotic initialisations with and without BN (appendix A.5)"
ROLES = ("conv_bn", "conv_nobn")
PLATEAU = 0.1
"""A plateau: ‖∇L(θ_0)‖ at most this fraction of the default init's."""
CONTROL_MARGIN = 0.25
"""The control trains clearly: the default init's mean final train accuracy ≥ chance + this."""


class Numbers(TypedDict):
    inits: list[str]
    optimizer: str
    chance: float
    cells: list[dict[str, Any]]


def grad_norm(ctx: Context, role: str, init: str, seed: int) -> float:
    """‖∇L(θ_0)‖₂ of the mean cross-entropy over the probe examples at the initial weights."""
    model = build_initial_model(ctx.preset.config(role, "sgd", seed=seed, init=init, lr=None))
    model.train()
    x, y = ctx.probe_data(role)
    loss = F.cross_entropy(model(x), y)
    grads = torch.autograd.grad(loss, [q for q in model.parameters() if q.requires_grad])
    return float(torch.cat([g.double().flatten() for g in grads]).norm())


def plan(ctx: Context) -> dict[str, Any]:
    p = ctx.preset
    return {
        f"{role}|{init}": [
            ctx.config(role, p.exotic_optimizer, seed=s, init=init) for s in range(p.seeds)
        ]
        for role in ROLES
        for init in p.exotic_inits
    }


def analyse(ctx: Context, runs: dict[str, Any]) -> Analysis:
    p = ctx.preset
    cells = []
    for key, rs in runs.items():
        role, init = key.split("|")
        train_acc = [final_acc(r, "train") for r in rs]
        test_acc = [final_acc(r, "test") for r in rs]
        norms = [grad_norm(ctx, role, init, s) for s in range(p.seeds)]
        cells.append(
            {
                "role": role,
                "init": init,
                "lr": rs[0].config.lr,
                "train_acc": train_acc,
                "test_acc": test_acc,
                "train_acc_summary": mean_std(train_acc),
                "test_acc_summary": mean_std(test_acc),
                "initial_loss": mean_std(float(r.history[0]["train_loss"]) for r in rs),
                "final_loss": mean_std(float(r.history[-1]["train_loss"]) for r in rs),
                "grad_norm": mean_std(norms),
                "train_acc_curve": curve(rs[0], "train_acc"),
            }
        )
    chance = 1.0 / ctx.data("conv_bn").num_classes
    numbers = {
        "inits": list(p.exotic_inits),
        "optimizer": p.exotic_optimizer,
        "chance": chance,
        "cells": cells,
    }
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
    for ax, role in zip(axes, ROLES, strict=True):
        for cell in cells:
            if cell["role"] == role:
                ax.plot(cell["train_acc_curve"], label=cell["init"])
        ax.axhline(chance, color="grey", linestyle=":", linewidth=0.8, label="chance")
        ax.set_title(role)
        ax.set_xlabel("epoch")
        ax.set_ylabel("train accuracy (seed 0)")
        ax.legend()
    return numbers, [save_figure(ctx, NAME, "fig11", fig)]


def _cells(n: Record, role: str, exotic: bool) -> list[dict[str, Any]]:
    return [c for c in n["cells"] if c["role"] == role and (c["init"] != "default") == exotic]


def _trains(n: Record, cell: dict[str, Any]) -> bool:
    return bool(cell["train_acc_summary"]["mean"] > n["chance"] + CHANCE_MARGIN)


def _default(n: Record, role: str) -> dict[str, Any] | None:
    found = _cells(n, role, False)
    return found[0] if found else None


def _nobn(n: Record) -> tuple[Any, str]:
    default = _default(n, "conv_nobn")
    cells = _cells(n, "conv_nobn", True)
    control = default is not None and bool(
        default["train_acc_summary"]["mean"] >= n["chance"] + CONTROL_MARGIN
    )
    flags = [not _trains(n, c) for c in cells]
    ours = "; ".join(
        f"{c['init']}: train acc {fmt(c['train_acc'])}"
        for c in ([default] if default else []) + cells
    )
    return (control, flags), f"{ours} (chance {n['chance']:.2f})"


def _bn(n: Record) -> tuple[Any, str]:
    default = _default(n, "conv_bn")
    cells = _cells(n, "conv_bn", True)
    ref = default["test_acc"] if default else []
    trains = [_trains(n, c) for c in cells]
    worse = {c["init"]: (ref, c["test_acc"]) for c in cells}
    ours = "; ".join(
        f"{c['init']}: train acc {fmt(c['train_acc'])}, test acc {fmt(c['test_acc'])}"
        for c in ([default] if default else []) + cells
    )
    return (trains, worse), ours


def _plateau(n: Record) -> tuple[Any, str]:
    default = _default(n, "conv_nobn")
    cells = _cells(n, "conv_nobn", True)
    if default is None:
        return [], "default no-BN run missing"
    ref = default["grad_norm"]["mean"]
    ratios = {c["init"]: c["grad_norm"]["mean"] / ref for c in cells}
    ours = "; ".join(f"{i}: ‖∇L(θ_0)‖ / default = {r:.3g}" for i, r in ratios.items())
    return [r <= PLATEAU for r in ratios.values()], ours


_TRAINS = f"final train accuracy > chance + {CHANCE_MARGIN * 100:.0f} points"

CLAIMS = (
    Claim(
        "F11-nobn",
        NAME,
        "A.5: NIN without BN does not train at all from N(−10, 0.01) or N(−1, 1).",
        Controlled(
            Share(
                "an exotic init's mean final train accuracy ≤ chance + "
                f"{CHANCE_MARGIN * 100:.0f} points"
            ),
            "the default init of the same no-BN network reaches a mean final train accuracy ≥ "
            f"chance + {CONTROL_MARGIN * 100:.0f} points in the same budget",
        ),
        "the default init of the same no-BN network, same optimizer, rate, budget and minibatches",
        _nobn,
    ),
    Claim(
        "F11-bn",
        NAME,
        "A.5: with BN it trains (slowly) but to a worse minimum than from a small init.",
        AllOf(
            (
                Share(f"an exotic init's mean {_TRAINS}"),
                Each(Larger("default-init test accuracy", "the exotic init's"), "exotic init"),
            )
        ),
        "the default init of the same BN network, same optimizer, rate, budget and minibatches",
        _bn,
    ),
    Claim(
        "F11-plateau",
        NAME,
        "A.5: the loss around these inits is a plateau rather than a bad local minimum.",
        Share(f"‖∇L(θ_0)‖ ≤ {PLATEAU:g} × the default init's (no BN), per exotic init"),
        "the gradient norm at the default init of the same no-BN network on the same examples",
        _plateau,
    ),
)
