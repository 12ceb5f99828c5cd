"""Figure 11 (appendix A.5): NIN trained from exotic initialisations, with and without BN.

For every init of ``preset.exotic_inits`` (default, N(−10, 0.01), N(−1, 1): every parameter drawn
i.i.d.), both networks (roles ``conv_bn``, ``conv_nobn``) and every seed, trained with
``preset.exotic_optimizer`` for ``exotic_epochs`` at batch ``exotic_batch_size``. Recorded: final
train/test accuracy, initial and final training loss, and the plateau measure
``grad_norm`` = ‖∇L(θ_0)‖₂ on the probe examples (training mode, so BN uses batch statistics);
a plateau has a tiny gradient.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from ..train import build_initial_model
from .context import Context, curve, final_acc, mean_std, save_figure, save_result

NAME = "fig11"
TITLE = "Figure 11 — exotic initialisations with and without BN (appendix A.5)"
ROLES = ("conv_bn", "conv_nobn")


def grad_norm(ctx: Context, role: str, init: str, seed: int) -> float:
    """‖∇L(θ_0)‖₂ of the mean cross-entropy over the probe examples at the initial weights."""
    model = build_initial_model(ctx.preset.config(role, "sgd", seed=seed, init=init))
    model.train()
    x, y = ctx.probe_data(role)
    loss = F.cross_entropy(model(x), y)
    grads = torch.autograd.grad(loss, [q for q in model.parameters() if q.requires_grad])
    return float(torch.cat([g.double().flatten() for g in grads]).norm())


def run(ctx: Context) -> dict[str, Any] | None:
    p = ctx.preset
    opt = p.exotic_optimizer
    runs = {
        (role, init): [
            ctx.train(
                role,
                opt,
                seed=s,
                init=init,
                epochs=p.exotic_epochs,
                batch_size=p.exotic_batch_size,
            )
            for s in range(p.seeds)
        ]
        for role in ROLES
        for init in p.exotic_inits
    }
    if ctx.only_train:
        return None
    cells = []
    for (role, init), rs in runs.items():
        train_acc = [final_acc(r, "train") for r in rs]
        test_acc = [final_acc(r, "test") for r in rs]
        norms = [grad_norm(ctx, role, init, s) for s in range(p.seeds)]
        cells.append(
            {
                "role": role,
                "init": init,
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
    numbers = {"inits": p.exotic_inits, "optimizer": opt, "chance": chance, "cells": cells}
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
    for ax, role in zip(axes, ROLES, strict=True):
        for cell in cells:
            if cell["role"] == role:
                ax.plot(cell["train_acc_curve"], label=cell["init"])
        ax.set_title(role)
        ax.set_xlabel("epoch")
        ax.set_ylabel("train accuracy (seed 0)")
        ax.legend()
    figures = [save_figure(ctx, NAME, "fig11", fig)]
    return save_result(ctx, NAME, numbers, figures)
