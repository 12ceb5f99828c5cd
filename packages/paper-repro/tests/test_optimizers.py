"""Optimizers by name: every name builds and steps, analytic one-step results, the paper's grids."""

from __future__ import annotations

import pytest
import torch

from paper_repro.optimizers import (
    DEFAULT_LR,
    KNOWN_OPTIMIZERS,
    OPTIMIZERS,
    PAPER_LR_GRID,
    RK_OPTIMIZERS,
    evaluations_per_step,
    make_optimizer,
)


def _quadratic_step(name: str, lr: float, x0: torch.Tensor) -> torch.Tensor:
    """One step of ``name`` on f(x) = ½‖x‖² (∇f = x) from ``x0``; returns the new x."""
    x = x0.clone().requires_grad_(True)
    opt = make_optimizer(name, [x], lr=lr)

    def closure() -> float:
        opt.zero_grad()
        loss = 0.5 * (x * x).sum()
        loss.backward()  # type: ignore[no-untyped-call]
        return float(loss.detach())

    opt.step(closure)
    return x.detach()


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_every_optimizer_builds_and_descends(name: str) -> None:
    x0 = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    x1 = _quadratic_step(name, DEFAULT_LR[name], x0)
    assert 0.5 * x1.dot(x1) < 0.5 * x0.dot(x0)
    opt = make_optimizer(name, [torch.zeros(2, requires_grad=True)], lr=0.01)
    assert evaluations_per_step(opt) == (2 if name in RK_OPTIMIZERS else 1)


def test_sgd_and_heun_match_closed_form() -> None:
    x0 = torch.tensor([1.0, -2.0], dtype=torch.float64)
    h = 0.1
    torch.testing.assert_close(_quadratic_step("sgd", h, x0), x0 * (1 - h), rtol=0, atol=1e-15)
    # Heun on x' = -x: x1 = x0 + h/2 (k1 + k2), k1 = -x0, k2 = -(x0 + h k1) -> x0 (1 - h + h²/2)
    torch.testing.assert_close(
        _quadratic_step("heun", h, x0), x0 * (1 - h + h * h / 2), rtol=0, atol=1e-15
    )


def test_sgdm_uses_momentum_and_weight_decay_passes_through() -> None:
    p = torch.zeros(1, requires_grad=True)
    for name in OPTIMIZERS:
        opt = make_optimizer(name, [p], lr=0.01, weight_decay=5e-4)
        assert opt.param_groups[0]["weight_decay"] == 5e-4
    assert make_optimizer("sgdm", [p], lr=0.1).param_groups[0]["momentum"] == 0.9
    assert make_optimizer("sgdm", [p], lr=0.1, momentum=0.5).param_groups[0]["momentum"] == 0.5
    assert make_optimizer("sgd", [p], lr=0.1).param_groups[0]["momentum"] == 0


def test_paper_grids_and_rk_doubling() -> None:
    assert PAPER_LR_GRID["sgd"] == (0.2, 0.1, 0.05, 0.01)
    assert PAPER_LR_GRID["adam"] == (0.002, 0.001, 0.0005, 0.0001)
    assert PAPER_LR_GRID["rmsprop"] == PAPER_LR_GRID["adam"]
    for rk in ("midpoint", "heun", "ralston"):
        assert PAPER_LR_GRID[rk] == tuple(2 * lr for lr in PAPER_LR_GRID["sgd"])
    assert PAPER_LR_GRID["adam_rk2"] == tuple(2 * lr for lr in PAPER_LR_GRID["adam"])
    assert PAPER_LR_GRID["adadelta"] == (1.0,)
    assert set(PAPER_LR_GRID) == set(OPTIMIZERS)
    assert set(DEFAULT_LR) == set(KNOWN_OPTIMIZERS)
    assert all(DEFAULT_LR[n] in PAPER_LR_GRID[n] for n in OPTIMIZERS)


def test_bad_names_and_learning_rates_raise() -> None:
    p = [torch.zeros(1, requires_grad=True)]
    with pytest.raises(ValueError, match=r"unknown optimizer 'adagrad'.*sgdm.*adam_rk2"):
        make_optimizer("adagrad", p, lr=0.1)
    with pytest.raises(ValueError, match="lr must be"):
        make_optimizer("sgd", p, lr=0.0)
    with pytest.raises(ValueError, match="weight_decay"):
        make_optimizer("sgd", p, lr=0.1, weight_decay=-1.0)
