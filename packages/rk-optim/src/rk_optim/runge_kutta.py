"""The Runge–Kutta stage loop and the plain (SGD-based) Runge–Kutta optimizers.

For the gradient flow dθ/dt = −∇L(θ) and an explicit tableau (A, b, c), one step of size h = lr is

    d_i = ∇L(θ_i) + wd · θ_i,      θ_i = θ − lr Σ_{j<i} a_ij d_j     (stage directions)
    ḡ   = Σ_i b_i d_i                                                (combined direction)
    θ  ← base_update(θ, ḡ)          (RungeKutta: θ − lr ḡ;  AdamRK2: Adam fed with ḡ)

The closure is re-evaluated at every probe point θ_i. θ is saved once per step and restored
from that copy before the base update (never by subtracting a step back). ḡ is accumulated as a
running weighted mean, ḡ ← ḡ + (b_i / Σ_{j≤i} b_j)(d_i − ḡ) (``lerp``), which is exact when all
stage directions are equal. With ``maximize=True`` every d_i uses −∇L (ascent).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor
from torch.optim import Optimizer

from . import _ops
from .tableau import HEUN, MIDPOINT, RALSTON, ButcherTableau

__all__ = ["Heun", "Midpoint", "Ralston", "RungeKutta", "StageLoopOptimizer"]

Closure = Callable[[], Any]


def _combination_weights(tableau: ButcherTableau) -> tuple[float, ...]:
    """Running-mean weights w_i = b_i / Σ_{j≤i} b_j (0 for stages with b_i = 0)."""
    weights, partial = [], 0.0
    for i, bi in enumerate(tableau.b):
        if bi == 0.0:
            weights.append(0.0)
            continue
        partial += bi
        if partial == 0.0:
            raise ValueError(
                f"tableau {tableau.name!r}: partial sum b[0] + ... + b[{i}] is 0, so the combined "
                "gradient cannot be accumulated as a running weighted mean"
            )
        weights.append(bi / partial)
    return tuple(weights)


def _check_hyper(name: str, value: float) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not value >= 0.0:
        raise ValueError(f"Invalid {name}: {value!r} (must be a non-negative float)")


class StageLoopOptimizer(Optimizer):
    """Base class: the one explicit Runge–Kutta stage loop; subclasses supply the base update.

    ``step(closure)`` follows :class:`torch.optim.LBFGS`: the closure zeroes the gradients,
    computes the loss, calls ``backward()`` and returns the loss. It is called
    ``tableau.stages`` times per step; ``step`` returns the first stage's loss (the loss at θ).
    After a step ``p.grad`` holds the combined direction ḡ that was fed to the base update.
    """

    #: whether weight decay enters every stage direction (True) or only the base update (False)
    _weight_decay_in_stages: bool = True

    def __init__(
        self, params: Iterable[Any], defaults: dict[str, Any], tableau: ButcherTableau
    ) -> None:
        if not isinstance(tableau, ButcherTableau):
            raise TypeError(f"tableau must be a ButcherTableau, got {type(tableau).__name__}")
        self.tableau = tableau
        self._weights = _combination_weights(tableau)
        self._scratch: dict[Tensor, dict[str, Tensor]] = {}
        super().__init__(params, defaults)

    @property
    def evaluations_per_step(self) -> int:
        """Closure (gradient) evaluations per step: the tableau's number of stages."""
        return self.tableau.stages

    def __getstate__(self) -> dict[str, Any]:
        state: dict[str, Any] = super().__getstate__()
        state["tableau"] = self.tableau
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._weights = _combination_weights(self.tableau)
        self._scratch = {}
        for group in self.param_groups:
            for key, value in self.defaults.items():
                group.setdefault(key, value)

    def __repr__(self) -> str:
        head, _, rest = super().__repr__().partition("\n")
        return f"{head[:-2]} (tableau={self.tableau.name}) (\n{rest}"

    # -- hooks for subclasses -------------------------------------------------------------
    def _base_update(
        self,
        group: dict[str, Any],
        params: list[Tensor],
        theta0: list[Tensor],
        gbar: list[Tensor],
        foreach: bool,
    ) -> None:
        """Update params from the saved θ (``theta0``; empty for one-stage tableaux, where the
        params were never moved) with the combined direction ``gbar``."""
        raise NotImplementedError

    # -- the stage loop -------------------------------------------------------------------
    @staticmethod
    def _describe(group_index: int, group: dict[str, Any], index: int, p: Tensor) -> str:
        where = f"param_groups[{group_index}]['params'][{index}] (shape {tuple(p.shape)}"
        names = group.get("param_names")
        if names is not None:
            where += f", name {names[index]!r}"
        return where + ")"

    def _call(self, closure: Closure | None, stage: int) -> Any:
        name = type(self).__name__
        if closure is None:
            raise RuntimeError(
                f"{name}.step() requires a closure: it re-evaluates the gradient "
                f"{self.tableau.stages} times per step. Pass step(closure) where closure() zeroes "
                "the gradients, computes the loss, calls loss.backward() and returns the loss "
                "(as for torch.optim.LBFGS)."
            )
        with torch.enable_grad():
            loss = closure()
        if loss is None:
            raise RuntimeError(
                f"{name}.step(): the closure returned None at stage {stage}; it must return the "
                "loss after calling loss.backward()"
            )
        return loss

    def _active(self) -> list[list[int]]:
        """Indices of parameters with a gradient after the first stage, per group."""
        active = []
        for gi, group in enumerate(self.param_groups):
            idx = []
            for pi, p in enumerate(group["params"]):
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    raise RuntimeError(
                        f"{type(self).__name__} does not support sparse gradients: "
                        f"{self._describe(gi, group, pi, p)}"
                    )
                idx.append(pi)
            active.append(idx)
        return active

    def _check_same(self, active: list[list[int]], stage: int) -> None:
        for gi, group in enumerate(self.param_groups):
            expected = set(active[gi])
            for pi, p in enumerate(group["params"]):
                has = p.grad is not None
                if has != (pi in expected):
                    state = "has a gradient" if has else "has no gradient (grad is None)"
                    other = "had none" if has else "had one"
                    raise RuntimeError(
                        f"{type(self).__name__}: {self._describe(gi, group, pi, p)} {state} at "
                        f"stage {stage} but {other} at stage 0; every stage must produce "
                        "gradients for the same parameters"
                    )
                if has and p.grad is not None and p.grad.is_sparse:
                    raise RuntimeError(
                        f"{type(self).__name__} does not support sparse gradients: "
                        f"{self._describe(gi, group, pi, p)}"
                    )

    def _buffer(self, p: Tensor, key: str) -> Tensor:
        """Scratch tensor ``key`` for parameter p (θ copy, stage directions, running mean).

        Allocated once and reused across steps; never part of ``state`` or ``state_dict``.
        """
        bufs = self._scratch.setdefault(p, {})
        buf = bufs.get(key)
        if buf is None or buf.shape != p.shape or buf.dtype != p.dtype or buf.device != p.device:
            buf = bufs[key] = torch.empty_like(p, memory_format=torch.preserve_format)
        return buf

    def _direction(
        self, group: dict[str, Any], params: list[Tensor], stage: int, foreach: bool
    ) -> list[Tensor]:
        """Stage direction d_i = ±∇L(θ_i) (+ wd·θ_i), kept for the later stages.

        Without a sign flip or weight decay the gradient tensors themselves are taken over
        (``p.grad`` is set to None, so the next closure cannot zero them): no copy.
        """
        grads: list[Tensor] = [p.grad for p in params]  # type: ignore[misc]
        wd = group["weight_decay"] if self._weight_decay_in_stages else 0.0
        if not group["maximize"] and wd == 0.0:
            for p in params:
                p.grad = None
            return grads
        d = [self._buffer(p, f"d{stage}") for p in params]
        _ops.copy_(d, grads, foreach)
        self._finish_direction(group, params, d, foreach)
        return d

    def _finish_direction(
        self, group: dict[str, Any], params: list[Tensor], d: list[Tensor], foreach: bool
    ) -> None:
        """d ← −d when maximizing; d ← d + wd·θ_i for in-stage weight decay (in place)."""
        wd = group["weight_decay"] if self._weight_decay_in_stages else 0.0
        if group["maximize"]:
            _ops.neg_(d, foreach)
        if wd != 0.0:
            _ops.add_(d, params, wd, foreach)

    @torch.no_grad()
    def step(self, closure: Closure | None = None) -> Any:
        """Perform one Runge–Kutta step; returns the closure's loss at the current θ."""
        tab, w = self.tableau, self._weights
        s = tab.stages
        loss = self._call(closure, 0)
        active = self._active()
        groups: list[
            tuple[dict[str, Any], list[Tensor], bool, list[Tensor], list[list[Tensor]]]
        ] = []
        for gi, group in enumerate(self.param_groups):
            params = [group["params"][i] for i in active[gi]]
            foreach = group["foreach"]
            if foreach is None:  # for-loop on CPU (measured faster), foreach on CUDA
                foreach = bool(params) and all(p.is_cuda for p in params)
            theta0 = [self._buffer(p, "theta0") for p in params] if s > 1 else []
            if s > 1:
                _ops.copy_(theta0, params, foreach)
            groups.append((group, params, foreach, theta0, []))

        # the combined direction is a running weighted mean started at the first b_i ≠ 0
        first_b = next(i for i, bi in enumerate(tab.b) if bi != 0.0)
        for i in range(s):
            if i > 0:
                self._call(closure, i)
                self._check_same(active, i)
            for group, params, foreach, theta0, dirs in groups:
                if i < s - 1:
                    dirs.append(self._direction(group, params, i, foreach))
                    if w[i] != 0.0 and i != first_b:
                        acc = [self._buffer(p, "mean") for p in params]
                        if not any(w[first_b + 1 : i]):
                            _ops.copy_(acc, dirs[first_b], foreach)
                        _ops.lerp_(acc, dirs[i], w[i], foreach)
                    # move to the next probe point θ_{i+1} = θ − lr Σ_j a_{i+1,j} d_j
                    if i > 0:
                        _ops.copy_(params, theta0, foreach)
                    for j, a in enumerate(tab.A[i + 1][: i + 1]):
                        if a != 0.0:
                            _ops.add_(params, dirs[j], -group["lr"] * a, foreach)
                    continue
                # last stage: ḡ is formed in p.grad itself
                gbar = [p.grad for p in params if p.grad is not None]  # all present: _check_same
                self._finish_direction(group, params, gbar, foreach)
                if first_b < s - 1:
                    any_mean = any(w[first_b + 1 : s - 1])
                    mean = [self._buffer(p, "mean") for p in params] if any_mean else dirs[first_b]
                    _ops.lerp_(gbar, mean, 1.0 - w[i], foreach)
                self._base_update(group, params, theta0, gbar, foreach)
        return loss


class RungeKutta(StageLoopOptimizer):
    """Explicit Runge–Kutta integration of the gradient flow of L(θ) + wd/2 ‖θ‖².

    Stage directions d_i = ∇L(θ_i) + wd·θ_i at θ_i = θ − lr Σ_{j<i} a_ij d_j, combined
    ḡ = Σ b_i d_i, update θ ← θ − lr ḡ. With ``EULER`` this is ``torch.optim.SGD(lr,
    weight_decay=wd, maximize=...)`` bit for bit.

    Args:
        params: parameters or param groups.
        lr: step size h of the integrator.
        tableau: an explicit :class:`ButcherTableau` (default ``HEUN``).
        weight_decay: L2 coefficient added to every stage direction (gradient flow of the
            penalized loss).
        maximize: ascend instead of descend (every d_i uses −∇L).
        foreach: multi-tensor ``torch._foreach_*`` path (True) or for-loop (False); None picks
            the for-loop on CPU (measured faster: it writes θ − lr ḡ in one pass) and the
            foreach path when every parameter is on CUDA.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float,
        tableau: ButcherTableau = HEUN,
        *,
        weight_decay: float = 0.0,
        maximize: bool = False,
        foreach: bool | None = None,
    ) -> None:
        _check_hyper("lr", lr)
        _check_hyper("weight_decay", weight_decay)
        defaults = {
            "lr": lr,
            "weight_decay": weight_decay,
            "maximize": maximize,
            "foreach": foreach,
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
        """θ ← θ_saved − lr ḡ."""
        if theta0:
            _ops.add_into(params, theta0, gbar, -group["lr"], foreach)
        else:
            _ops.add_(params, gbar, -group["lr"], foreach)


class Midpoint(RungeKutta):
    """:class:`RungeKutta` with the explicit midpoint tableau (b = (0, 1), a_21 = 1/2)."""

    def __init__(self, params: Iterable[Any], lr: float, **kwargs: Any) -> None:
        super().__init__(params, lr, MIDPOINT, **kwargs)


class Heun(RungeKutta):
    """:class:`RungeKutta` with Heun's tableau (b = (1/2, 1/2), a_21 = 1)."""

    def __init__(self, params: Iterable[Any], lr: float, **kwargs: Any) -> None:
        super().__init__(params, lr, HEUN, **kwargs)


class Ralston(RungeKutta):
    """:class:`RungeKutta` with Ralston's tableau (b = (1/3, 2/3), a_21 = 3/4)."""

    def __init__(self, params: Iterable[Any], lr: float, **kwargs: Any) -> None:
        super().__init__(params, lr, RALSTON, **kwargs)
