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

from .hyper import shared_defaults
from .stage_loop import GroupStep, StageLoopOptimizer
from .tableau import HEUN, ButcherTableau

__all__ = ["AdamRK2"]


class AdamRK2(StageLoopOptimizer):
    """Adam whose gradient is the Runge–Kutta combination ḡ = Σ b_i ∇L(θ_i) (default Heun).

    Args:
        params: parameters or param groups.
        lr: Adam's learning rate, also the probe step of the stages (float or 1-element tensor).
        betas: (β1, β2) moment coefficients (OneCycleLR ``cycle_momentum`` drives β1).
        eps: Adam's denominator epsilon.
        weight_decay: Adam's (coupled) L2 term, added once to ḡ at θ.
        tableau: explicit :class:`ButcherTableau` for the stages (default ``HEUN``).
        maximize: ascend (probes move along +∇L; ``p.grad`` holds −ḡ after a step).
        foreach: multi-tensor path (True) or for-loop (False) for the stages and Adam.
        fused: torch's fused Adam kernel for the final update (real floating parameters on a
            supported device, checked at construction); None uses it when ``foreach`` is None
            and every parameter is a real floating tensor on CPU or CUDA (fastest measured).
        capturable, differentiable: only False is supported (True raises ValueError).
    """

    _weight_decay_in_stages = False
    _fused_by_default = True

    def __init__(
        self,
        params: Iterable[Any],
        lr: float | Tensor = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        tableau: ButcherTableau = HEUN,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        fused: bool | None = None,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        defaults = shared_defaults(
            lr, weight_decay, maximize, foreach, fused, capturable, differentiable
        )
        defaults.update(betas=tuple(betas), eps=eps)
        super().__init__(params, defaults, tableau)

    def _check_group(self, group: dict[str, Any], where: str) -> None:
        super()._check_group(group, where)
        eps, betas = group["eps"], group["betas"]
        if not isinstance(eps, (int, float)) or isinstance(eps, bool) or not eps >= 0.0:
            raise ValueError(f"Invalid eps: {eps!r}{where} (must be a non-negative float)")
        if len(betas) != 2 or not all(0.0 <= float(x) < 1.0 for x in betas):
            raise ValueError(f"Invalid betas: {betas!r}{where} (need two values in [0, 1))")

    def _init_state(self, step: GroupStep) -> None:
        """Adam's moments and step counters of ``step.params``, created or checked."""
        exp_avgs, exp_avg_sqs, steps = [], [], []
        scalar_dtype = _get_scalar_dtype(is_fused=step.fused)
        for index, p in zip(step.indices, step.params, strict=True):
            state = self.state[p]
            if not state:
                state["step"] = torch.tensor(0.0, dtype=scalar_dtype)
                state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            else:
                missing = [key for key in ("step", "exp_avg", "exp_avg_sq") if key not in state]
                if missing:
                    where = self._describe(step.group_index, step.group, index)
                    raise ValueError(f"AdamRK2: state of {where} lacks the keys {missing}")
                self._check_state(step.group_index, step.group, index, state)
                if not isinstance(state["step"], Tensor):  # checkpoints with a Python number
                    state["step"] = torch.tensor(float(state["step"]), dtype=scalar_dtype)
                device = p.device if step.fused else torch.device("cpu")
                if state["step"].device != device or state["step"].dtype != scalar_dtype:
                    state["step"] = state["step"].to(device=device, dtype=scalar_dtype)
            exp_avgs.append(state["exp_avg"])
            exp_avg_sqs.append(state["exp_avg_sq"])
            steps.append(state["step"])
        step.state = {"exp_avg": exp_avgs, "exp_avg_sq": exp_avg_sqs, "step": steps}

    def _update(self, step: GroupStep, combined: list[Tensor]) -> None:
        """One Adam update of θ with gradient ḡ (torch.optim.adam.adam)."""
        beta1, beta2 = step.group["betas"]
        adam(
            step.params,
            combined,
            step.state["exp_avg"],
            step.state["exp_avg_sq"],
            [],
            step.state["step"],
            foreach=step.foreach,
            fused=step.fused,
            has_complex=any(torch.is_complex(p) for p in step.params),
            amsgrad=False,
            beta1=beta1,
            beta2=beta2,
            lr=step.lr,
            weight_decay=step.weight_decay,
            eps=step.group["eps"],
            maximize=False,  # the stage directions are already negated when maximizing
        )
