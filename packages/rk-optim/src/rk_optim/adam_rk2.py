"""ADAM&RK2 (Im, Tao & Branson 2016, appendix A.3): Adam fed with a Runge–Kutta combined gradient.

The stages probe along the raw loss gradient with step lr,

    g_i = ∇L(θ_i),  θ_i = θ − lr Σ_{j<i} a_ij g_j,   ḡ = Σ_i b_i g_i,

and ḡ takes the place of g_t in one Adam update (one moment update per step, not per stage):

    m ← β1 m + (1−β1) ḡ',  v ← β2 v + (1−β2) ḡ'²,  θ ← θ − lr · m̂ / (√v̂ + eps),
    ḡ' = ḡ + wd·θ (Adam's L2 weight decay, applied once at θ, not at the probes).

The final update is torch's own functional Adam, so with ``EULER`` (or a constant gradient and a
two-stage tableau) the result equals ``torch.optim.Adam`` bit for bit.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import Tensor
from torch.optim.adam import adam
from torch.optim.optimizer import _get_scalar_dtype

from . import _ops
from .runge_kutta import StageLoopOptimizer, _check_hyper
from .tableau import HEUN, ButcherTableau

__all__ = ["AdamRK2"]


class AdamRK2(StageLoopOptimizer):
    """Adam whose gradient is the Runge–Kutta combination ḡ = Σ b_i ∇L(θ_i) (default Heun).

    Args:
        params: parameters or param groups.
        lr: Adam's learning rate, also the probe step of the stages.
        betas: (β1, β2) moment coefficients (OneCycleLR ``cycle_momentum`` drives β1).
        eps: Adam's denominator epsilon.
        weight_decay: Adam's (coupled) L2 term, added once to ḡ at θ.
        tableau: explicit :class:`ButcherTableau` for the stages (default ``HEUN``).
        maximize: ascend (probes move along +∇L; ``p.grad`` holds −ḡ after a step).
        foreach: multi-tensor path (True) or for-loop (False) for the stages and Adam.
        fused: torch's fused Adam kernel for the final update; None uses it when ``foreach`` is
            None and every parameter is a real floating tensor on CPU or CUDA (fastest measured).
    """

    _weight_decay_in_stages = False

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        tableau: ButcherTableau = HEUN,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        fused: bool | None = None,
    ) -> None:
        _check_hyper("lr", lr)
        if fused and foreach:
            raise ValueError("AdamRK2: fused=True and foreach=True cannot be set together")
        _check_hyper("eps", eps)
        _check_hyper("weight_decay", weight_decay)
        if len(betas) != 2 or not all(0.0 <= float(x) < 1.0 for x in betas):
            raise ValueError(f"Invalid betas: {betas!r} (need two values in [0, 1))")
        defaults = {
            "lr": lr,
            "betas": tuple(betas),
            "eps": eps,
            "weight_decay": weight_decay,
            "maximize": maximize,
            "foreach": foreach,
            "fused": fused,
        }
        super().__init__(params, defaults, tableau)

    def _base_update(
        self,
        group: dict[str, Any],
        params: list[Tensor],
        theta0: list[Tensor],
        gbar: list[Tensor],
        foreach: bool,
    ) -> None:
        """Restore θ from its saved copy, then one Adam update with gradient ḡ
        (torch.optim.adam.adam; the fused kernel unless ``foreach`` or ``fused=False`` was set)."""
        if theta0:
            _ops.copy_(params, theta0, foreach)
        fused = group["fused"]
        if fused is None:
            fused = group["foreach"] is None and all(
                p.device.type in ("cpu", "cuda") and p.is_floating_point() for p in params
            )
        exp_avgs, exp_avg_sqs, steps = [], [], []
        for p in params:
            state = self.state[p]
            if not state:
                state["step"] = torch.tensor(0.0, dtype=_get_scalar_dtype(is_fused=fused))
                state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            exp_avgs.append(state["exp_avg"])
            exp_avg_sqs.append(state["exp_avg_sq"])
            steps.append(state["step"])
        beta1, beta2 = group["betas"]
        adam(
            params,
            gbar,
            exp_avgs,
            exp_avg_sqs,
            [],
            steps,
            foreach=foreach and not fused,
            fused=fused,
            has_complex=any(torch.is_complex(p) for p in params),
            amsgrad=False,
            beta1=beta1,
            beta2=beta2,
            lr=group["lr"],
            weight_decay=group["weight_decay"],
            eps=group["eps"],
            maximize=False,  # the stage directions are already negated when maximizing
        )
