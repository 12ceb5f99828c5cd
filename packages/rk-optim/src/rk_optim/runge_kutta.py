"""The plain (SGD-based) Runge–Kutta optimizers."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import Tensor

from .hyper import shared_defaults
from .stage_loop import GroupStep, StageLoopOptimizer
from .tableau import HEUN, MIDPOINT, RALSTON, ButcherTableau

__all__ = ["Heun", "Midpoint", "Ralston", "RungeKutta"]


class RungeKutta(StageLoopOptimizer):
    """Explicit Runge–Kutta integration of the gradient flow of L(θ) + wd/2 ‖θ‖².

    The stage loop of :class:`StageLoopOptimizer` with weight decay in every stage direction and
    the update θ ← θ − lr ḡ. With ``EULER`` this is ``torch.optim.SGD(lr,
    weight_decay=wd, maximize=...)`` bit for bit.

    Args:
        params: parameters or param groups.
        lr: step size h of the integrator (float or 1-element tensor; default 1e-3 as SGD).
        tableau: an explicit :class:`ButcherTableau` (default ``HEUN``).
        weight_decay: L2 coefficient added to every stage direction (gradient flow of the
            penalized loss).
        maximize: ascend instead of descend (every d_i uses −∇L).
        foreach: multi-tensor ``torch._foreach_*`` path (True) or for-loop (False); None picks
            the for-loop on CPU (it writes each probe point in one pass with ``out=``) and the
            foreach path when every parameter is on CUDA.
        fused: apply θ ← θ − lr ḡ with torch's fused SGD kernel (real floating parameters on a
            supported device, checked at construction); the stages then run the for-loop.
        capturable, differentiable: only False is supported (accepted for torch.optim
            compatibility; True raises ValueError).
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float | Tensor = 1e-3,
        tableau: ButcherTableau = HEUN,
        *,
        weight_decay: float = 0.0,
        maximize: bool = False,
        foreach: bool | None = None,
        fused: bool | None = None,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        defaults = shared_defaults(
            lr, weight_decay, maximize, foreach, fused, capturable, differentiable
        )
        super().__init__(params, defaults, tableau)

    def _update(self, step: GroupStep, combined: list[Tensor]) -> None:
        """θ ← θ − lr ḡ."""
        if step.fused:
            torch._fused_sgd_(
                step.params,
                combined,
                [],
                weight_decay=0.0,
                momentum=0.0,
                lr=step.lr,
                dampening=0.0,
                nesterov=False,
                maximize=False,
                is_first_step=False,
            )
        elif step.foreach:
            torch._foreach_add_(step.params, combined, alpha=-step.lr)
        else:
            for p, d in zip(step.params, combined, strict=True):
                p.add_(d, alpha=-step.lr)


class Midpoint(RungeKutta):
    """:class:`RungeKutta` with the explicit midpoint tableau (b = (0, 1), a_21 = 1/2)."""

    def __init__(self, params: Iterable[Any], lr: float | Tensor = 1e-3, **kwargs: Any) -> None:
        super().__init__(params, lr, MIDPOINT, **kwargs)


class Heun(RungeKutta):
    """:class:`RungeKutta` with Heun's tableau (b = (1/2, 1/2), a_21 = 1)."""

    def __init__(self, params: Iterable[Any], lr: float | Tensor = 1e-3, **kwargs: Any) -> None:
        super().__init__(params, lr, HEUN, **kwargs)


class Ralston(RungeKutta):
    """:class:`RungeKutta` with Ralston's tableau (b = (1/3, 2/3), a_21 = 3/4)."""

    def __init__(self, params: Iterable[Any], lr: float | Tensor = 1e-3, **kwargs: Any) -> None:
        super().__init__(params, lr, RALSTON, **kwargs)
