"""Optimizers by name, with the paper's learning-rate grids (paper §3.4, A.2, A.3).

Every optimizer minimises ``L(θ)`` with the stochastic gradient ``g_t = ∇L_B(θ_t)`` of a minibatch
``B``; ``weight_decay`` λ adds ``λ θ`` to ``g_t`` (L2 regularisation, as in ``torch.optim``):

* ``sgd``       θ ← θ − η g
* ``sgdm``      v ← μ v + g,  θ ← θ − η v  (μ = ``momentum``, 0.9 by default)
* ``rmsprop``   s ← α s + (1−α) g²,  θ ← θ − η g / (√s + ε)  (``torch.optim.RMSprop`` defaults)
* ``adadelta``  eq. 16 of the paper with η = 1 (``torch.optim.Adadelta``: ``lr`` scales it)
* ``adam``      ``torch.optim.Adam`` defaults (β = (0.9, 0.999), ε = 1e-8)
* ``midpoint``, ``heun``, ``ralston``  second-order Runge–Kutta on θ' = −g (``rk_optim``)
* ``adam_rk2``  Adam fed the Heun-averaged gradient (``rk_optim.AdamRK2``)
* ``lbfgs_golden``  L-BFGS with a golden-section line search (Yu & Morozov's quasi-Newton
  comparator, :class:`paper_repro.quasi_newton.LBFGSGolden`; ``lr`` = first trial step, meant for
  full-batch training: ``batch_size`` = the training-set size; line search as in
  :data:`TRAINING_LINE_SEARCH_TOL`, :data:`TRAINING_LINE_SEARCH_EVALS`)
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch

import rk_optim

from .quasi_newton import LBFGSGolden

OPTIMIZERS: tuple[str, ...] = (
    "sgd",
    "sgdm",
    "rmsprop",
    "adadelta",
    "adam",
    "midpoint",
    "heun",
    "ralston",
    "adam_rk2",
)
"""The paper's optimizers (every one has a learning-rate grid in :data:`PAPER_LR_GRID`)."""

COMPANION_OPTIMIZERS: tuple[str, ...] = ("lbfgs_golden",)
"""Optimizers of the companion papers, outside Im et al.'s study and grids."""

KNOWN_OPTIMIZERS: tuple[str, ...] = (*OPTIMIZERS, *COMPANION_OPTIMIZERS)
"""Every optimizer name :func:`make_optimizer` accepts."""

RK_OPTIMIZERS: frozenset[str] = frozenset({"midpoint", "heun", "ralston", "adam_rk2"})
"""Names of the Runge–Kutta optimizers (several gradient evaluations per step)."""

_SGD_GRID = (0.2, 0.1, 0.05, 0.01)
_ADAPTIVE_GRID = (0.002, 0.001, 0.0005, 0.0001)


def _doubled(grid: tuple[float, ...]) -> tuple[float, ...]:
    return tuple(2.0 * lr for lr in grid)


PAPER_LR_GRID: dict[str, tuple[float, ...]] = {
    "sgd": _SGD_GRID,
    "sgdm": _SGD_GRID,
    "rmsprop": _ADAPTIVE_GRID,
    # A.2: "η is set to 1" for Adadelta; its step size is adaptive by construction (eq. 16).
    "adadelta": (1.0,),
    "adam": _ADAPTIVE_GRID,
    # §3.4: learning rates doubled for the Runge-Kutta variants.
    "midpoint": _doubled(_SGD_GRID),
    "heun": _doubled(_SGD_GRID),
    "ralston": _doubled(_SGD_GRID),
    "adam_rk2": _doubled(_ADAPTIVE_GRID),
}
"""The paper's learning-rate grid per optimizer (§3.4)."""

DEFAULT_LR: dict[str, float] = {
    **{name: (grid[1] if len(grid) > 1 else grid[0]) for name, grid in PAPER_LR_GRID.items()},
    "lbfgs_golden": 1.0,  # the line search's first trial step, natural for a quasi-Newton d
}
"""Default learning rate per optimizer: the second-largest value of its paper grid (η = 1 for
Adadelta)."""


TRAINING_LINE_SEARCH_TOL = 1e-2
TRAINING_LINE_SEARCH_EVALS = 16
"""``lbfgs_golden``'s line search in training: the step to 1 % relative precision with at most 16
closure calls, each a pass over the whole training set (the class's defaults, 1e-4 and 50, cost
about twice as many passes per iteration for the same training curve on the cpu preset)."""


def check_optimizer_name(name: str) -> None:
    """Raise ``ValueError`` naming the known optimizers when ``name`` is not one of them."""
    if name not in KNOWN_OPTIMIZERS:
        known = ", ".join(KNOWN_OPTIMIZERS)
        raise ValueError(f"unknown optimizer {name!r}; known optimizers: {known}")


def make_optimizer(
    name: str,
    params: Iterable[torch.Tensor] | Iterable[dict[str, object]],
    *,
    lr: float,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
) -> torch.optim.Optimizer:
    """Build optimizer ``name`` (one of :data:`KNOWN_OPTIMIZERS`) over ``params``.

    ``momentum`` is used by ``sgdm`` only; ``weight_decay`` is passed to every optimizer.
    """
    check_optimizer_name(name)
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a finite positive number, got {lr!r}")
    if not (math.isfinite(weight_decay) and weight_decay >= 0):
        raise ValueError(f"weight_decay must be finite and >= 0, got {weight_decay!r}")
    if not (0.0 <= momentum < 1.0):
        raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
    lr = float(lr)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, weight_decay=weight_decay)
    if name == "sgdm":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, weight_decay=weight_decay)
    if name == "adadelta":
        return torch.optim.Adadelta(params, lr=lr, weight_decay=weight_decay)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "lbfgs_golden":
        return LBFGSGolden(
            params,
            lr=lr,
            weight_decay=weight_decay,
            line_search_tol=TRAINING_LINE_SEARCH_TOL,
            max_evals=TRAINING_LINE_SEARCH_EVALS,
        )
    if name == "adam_rk2":
        return rk_optim.AdamRK2(params, lr=lr, weight_decay=weight_decay)
    rk_class = {"midpoint": rk_optim.Midpoint, "heun": rk_optim.Heun, "ralston": rk_optim.Ralston}
    return rk_class[name](params, lr, weight_decay=weight_decay)


def evaluations_per_step(optimizer: torch.optim.Optimizer) -> int:
    """Gradient evaluations per ``step``: 1 for ``torch.optim`` optimizers, the number of stages
    for Runge–Kutta optimizers (their ``evaluations_per_step`` attribute)."""
    return int(getattr(optimizer, "evaluations_per_step", 1))
