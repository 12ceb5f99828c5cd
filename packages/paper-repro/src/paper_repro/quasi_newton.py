"""L-BFGS with a golden-section line search: Yu & Morozov's non-stochastic quasi-Newton comparator.

Yu & Morozov contrast SGD with "a non-stochastic quasi-Newton method, which utilizes curvature
information to determine step direction and Golden Section Search to choose step size".
``torch.optim.LBFGS`` offers only a strong-Wolfe search; this optimizer keeps the L-BFGS direction
and chooses the step by :func:`paper_repro.line_search.golden_section_search`.

One ``step(closure)`` is one quasi-Newton iteration on f(θ) = closure() + ½ λ ‖θ‖²
(λ = ``weight_decay``):

    g_k = ∇f(θ_k)
    d_k = −H_k g_k                 (two-loop recursion over the last m pairs (s_i, y_i),
                                    H⁰ = (sᵀy / yᵀy) I from the newest pair, I without pairs)
    α_k = argmin_α f(θ_k + α d_k)  (bracketing + golden section, first trial α = lr, on the very
                                    first iteration lr · min(1, 1/‖g‖₁))
    θ_{k+1} = θ_k + α_k d_k,   s_k = α_k d_k,   y_k = ∇f(θ_{k+1}) − g_k

The pair is stored only when yᵀs > 1e-10 (curvature condition). If d_k is no descent direction
the history is cleared and d_k = −g_k; if the search finds no decrease θ stays and the history is
cleared (the next step restarts from steepest descent).

Why L-BFGS rather than dense BFGS: the networks have 10⁴–10⁷ parameters, and BFGS's n × n inverse
Hessian is O(n²) memory and work per step; L-BFGS needs O(m n). On a problem of n parameters with
``history_size`` ≥ n and exact line searches both coincide on quadratics (finite termination in n
iterations), which the tests check.

Every closure call evaluates the same objective (the training loop replays dropout masks and
freezes BatchNorm statistics after the first call, because :attr:`evaluations_per_step` > 1).
The gradient at the accepted point is kept from the search, so ``.grad`` holds ∇f(θ_{k+1}) after the
step and the new pair needs no extra call. ``state`` reports ``n_iter``, ``func_evals`` (all closure
calls), and for the last step ``step_size``, ``search_evals`` and ``last_evaluations``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import torch

from ._validate import check_int
from .line_search import golden_section_search

_CURVATURE_EPS = 1e-10


class LBFGSGolden(torch.optim.Optimizer):
    """Full-batch L-BFGS whose step size comes from a golden-section line search (module doc).

    Args:
        params: the parameters (one parameter group).
        lr: first trial step of each line search (1 suits the quasi-Newton scaling of d).
        history_size: number m of curvature pairs kept.
        line_search_tol: relative tolerance of the step size.
        max_evals: closure calls allowed per line search.
        tolerance_grad: the step does nothing once ‖g‖_∞ ≤ this.
        weight_decay: λ of the ½ λ ‖θ‖² term added to the closure's loss.
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        lr: float = 1.0,
        *,
        history_size: int = 10,
        line_search_tol: float = 1e-4,
        max_evals: int = 50,
        tolerance_grad: float = 1e-10,
        weight_decay: float = 0.0,
    ) -> None:
        if not (math.isfinite(lr) and lr > 0):
            raise ValueError(f"lr must be a finite positive number, got {lr!r}")
        check_int("history_size", history_size, minimum=1)
        check_int("max_evals", max_evals, minimum=2)
        if not (math.isfinite(line_search_tol) and 0 < line_search_tol < 1):
            raise ValueError(f"line_search_tol must be in (0, 1), got {line_search_tol!r}")
        if not (math.isfinite(tolerance_grad) and tolerance_grad >= 0):
            raise ValueError(f"tolerance_grad must be finite and >= 0, got {tolerance_grad!r}")
        if not (math.isfinite(weight_decay) and weight_decay >= 0):
            raise ValueError(f"weight_decay must be finite and >= 0, got {weight_decay!r}")
        defaults = {
            "lr": lr,
            "history_size": history_size,
            "line_search_tol": line_search_tol,
            "max_evals": max_evals,
            "tolerance_grad": tolerance_grad,
            "weight_decay": weight_decay,
        }
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError(
                f"LBFGSGolden supports one parameter group, got {len(self.param_groups)}"
            )
        self._params: list[torch.Tensor] = self.param_groups[0]["params"]

    @property
    def evaluations_per_step(self) -> int:
        """Closure calls of the last step (2 before the first: the training loop reads > 1 as
        "replay the same objective at every call"). Exact per epoch for full-batch training."""
        return int(self.state[self._params[0]].get("last_evaluations", 2))

    def _flat_params(self) -> torch.Tensor:
        return torch.cat([p.detach().reshape(-1) for p in self._params])

    def _set_flat_params(self, flat: torch.Tensor) -> None:
        offset = 0
        with torch.no_grad():
            for p in self._params:
                n = p.numel()
                p.copy_(flat[offset : offset + n].view_as(p))
                offset += n

    def _evaluate(
        self, closure: Callable[[], Any], weight_decay: float
    ) -> tuple[Any, float, torch.Tensor]:
        """The closure's loss, f(θ) and ∇f(θ) at the current parameters (one closure call)."""
        with torch.enable_grad():
            loss = closure()
        if loss is None:
            raise ValueError("LBFGSGolden.step: the closure returned None; it must return the loss")
        grads = [
            torch.zeros_like(p).reshape(-1) if p.grad is None else p.grad.detach().reshape(-1)
            for p in self._params
        ]
        flat_grad = torch.cat(grads)
        value = float(loss)
        if weight_decay:
            x = self._flat_params()
            value += 0.5 * weight_decay * float(x.dot(x))
            flat_grad.add_(x, alpha=weight_decay)
        return loss, value, flat_grad

    def _direction(
        self, g: torch.Tensor, s_hist: list[torch.Tensor], y_hist: list[torch.Tensor]
    ) -> torch.Tensor:
        """−H g by the two-loop recursion."""
        q = g.neg()
        alphas = []
        for s, y in zip(reversed(s_hist), reversed(y_hist), strict=True):
            alpha = s.dot(q) / y.dot(s)
            q.sub_(y, alpha=float(alpha))
            alphas.append(alpha)
        if s_hist:
            q.mul_(float(s_hist[-1].dot(y_hist[-1]) / y_hist[-1].dot(y_hist[-1])))
        for s, y, alpha in zip(s_hist, y_hist, reversed(alphas), strict=True):
            beta = y.dot(q) / y.dot(s)
            q.add_(s, alpha=float(alpha - beta))
        return q

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One quasi-Newton iteration; returns the closure's loss at the starting point."""
        if closure is None:
            raise ValueError("LBFGSGolden.step needs a closure that re-evaluates the loss")
        group = self.param_groups[0]
        state = self.state[self._params[0]]
        s_hist: list[torch.Tensor] = state.setdefault("s_history", [])
        y_hist: list[torch.Tensor] = state.setdefault("y_history", [])
        wd = float(group["weight_decay"])
        first_loss, value, g = self._evaluate(closure, wd)
        search_evals, step_size = 0, 0.0
        if float(g.abs().max()) > group["tolerance_grad"]:
            d = self._direction(g, s_hist, y_hist)
            restart = not float(g.dot(d)) < 0  # not a descent direction: steepest descent
            if restart:
                d = g.neg()
            x0 = self._flat_params()
            first = state.get("n_iter", 0) == 0
            trial = group["lr"] * (min(1.0, 1.0 / float(g.abs().sum())) if first else 1.0)
            best_step, best_value, best_grad = 0.0, value, g

            def phi(alpha: float) -> float:
                nonlocal best_step, best_value, best_grad
                self._set_flat_params(x0 + alpha * d)
                _, f, grad = self._evaluate(closure, wd)
                if f < best_value or not math.isfinite(best_value):
                    best_step, best_value, best_grad = alpha, f, grad
                return f

            try:  # a closure that raises leaves θ and the state as they were
                result = golden_section_search(
                    phi,
                    value_at_zero=value,
                    initial_step=trial,
                    tol=group["line_search_tol"],
                    max_evals=group["max_evals"],
                )
                search_evals, step_size = result.evaluations, result.step
                self._set_flat_params(x0 + step_size * d)
                if step_size > 0 and step_size != best_step:  # only after non-finite losses
                    _, _, best_grad = self._evaluate(closure, wd)
                    search_evals += 1
            except BaseException:
                self._set_flat_params(x0)
                raise
            if restart:
                s_hist.clear()
                y_hist.clear()
            if step_size > 0:
                s, y = step_size * d, best_grad - g
                if float(y.dot(s)) > _CURVATURE_EPS:
                    s_hist.append(s)
                    y_hist.append(y)
                    if len(s_hist) > group["history_size"]:
                        del s_hist[0], y_hist[0]
                g = best_grad
            else:  # no decrease along d: forget the curvature pairs
                s_hist.clear()
                y_hist.clear()
            self._write_grad(g, wd)
        state["n_iter"] = state.get("n_iter", 0) + 1
        state["func_evals"] = state.get("func_evals", 0) + 1 + search_evals
        state["last_evaluations"] = 1 + search_evals
        state["search_evals"] = search_evals
        state["step_size"] = step_size
        return first_loss

    def _write_grad(self, flat_grad: torch.Tensor, weight_decay: float) -> None:
        """Put the closure's gradient at the current parameters (without λθ) into ``.grad``."""
        if weight_decay:
            flat_grad = flat_grad - weight_decay * self._flat_params()
        offset = 0
        for p in self._params:
            n = p.numel()
            p.grad = flat_grad[offset : offset + n].view_as(p).clone()
            offset += n
