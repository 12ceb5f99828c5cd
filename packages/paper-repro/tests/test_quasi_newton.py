"""Golden-section line search and L-BFGS-golden: against scipy.optimize on 1-D functions, quadratics
and Rosenbrock; exactness on quadratics; bounded budgets; state round trips; clear errors."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import scipy.optimize
import torch

from paper_repro.data import DataBundle
from paper_repro.line_search import golden_section_search
from paper_repro.optimizers import evaluations_per_step, make_optimizer
from paper_repro.quasi_newton import LBFGSGolden
from paper_repro.train import TrainConfig, train

Objective = Callable[[torch.Tensor], torch.Tensor]

ONE_D: dict[str, Callable[[float], float]] = {
    "parabola": lambda a: (a - 0.7) ** 2 + 1.0,
    "quartic": lambda a: (a - 3.0) ** 4 - 2.0 * a,
    "exp": lambda a: math.exp(a) - 4.0 * a,
    "cosh": lambda a: math.cosh(a - 0.01),
}


@pytest.mark.parametrize("name", ONE_D)
@pytest.mark.parametrize("initial_step", [1e-3, 1.0, 50.0])
def test_line_search_matches_scipy(name: str, initial_step: float) -> None:
    phi = ONE_D[name]
    ours = golden_section_search(
        phi, value_at_zero=phi(0.0), initial_step=initial_step, tol=1e-7, max_evals=200
    )
    theirs = scipy.optimize.minimize_scalar(phi, bounds=(0.0, 60.0), method="bounded",
                                            options={"xatol": 1e-9})  # fmt: skip
    assert ours.bracketed
    assert ours.converged
    assert ours.step == pytest.approx(theirs.x, rel=1e-5, abs=1e-6)
    assert ours.value <= phi(theirs.x) + 1e-9
    assert ours.evaluations <= 200


@pytest.mark.parametrize("initial_step", [0.01, 0.3, 1.0, 7.0])
@pytest.mark.parametrize("tol", [1e-3, 1e-6])
def test_line_search_is_exact_on_a_parabola(initial_step: float, tol: float) -> None:
    curvature, slope = 3.7, -1.3  # φ(α) = φ(0) + slope α + ½ curvature α²
    exact = -slope / curvature
    calls: list[float] = []

    def phi(a: float) -> float:
        calls.append(a)
        return 2.0 + slope * a + 0.5 * curvature * a * a

    result = golden_section_search(phi, value_at_zero=2.0, initial_step=initial_step, tol=tol)
    assert abs(result.step - exact) <= 2 * tol * exact
    assert result.evaluations == len(calls)
    assert 0.0 not in calls
    # the golden ratio shrinks the bracket by 0.618 per evaluation
    assert result.evaluations <= 8 + math.log(tol) / math.log(0.618) + abs(math.log(initial_step))


def test_line_search_budget_and_flags() -> None:
    downhill = golden_section_search(lambda a: -a, value_at_zero=0.0, initial_step=1.0, max_evals=7)
    assert (downhill.evaluations, downhill.bracketed, downhill.converged) == (7, False, False)
    assert downhill.value == -downhill.step
    uphill = golden_section_search(lambda a: a, value_at_zero=0.0, initial_step=1.0, max_evals=9)
    assert (uphill.step, uphill.value, uphill.evaluations) == (0.0, 0.0, 9)
    nan = golden_section_search(
        lambda a: math.nan, value_at_zero=1.0, initial_step=1.0, max_evals=5
    )
    assert nan.step == 0.0
    with pytest.raises(ValueError, match="initial_step"):
        golden_section_search(lambda a: a, value_at_zero=0.0, initial_step=0.0)
    with pytest.raises(ValueError, match="tol"):
        golden_section_search(lambda a: a, value_at_zero=0.0, initial_step=1.0, tol=0.0)
    with pytest.raises(ValueError, match="max_evals"):
        golden_section_search(lambda a: a, value_at_zero=0.0, initial_step=1.0, max_evals=1)


def _spd(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(n, n, generator=g, dtype=torch.float64))
    eig = torch.logspace(0, 2, n, dtype=torch.float64)  # condition number 100
    return q @ torch.diag(eig) @ q.T, torch.randn(n, generator=g, dtype=torch.float64)


def _minimise(
    f: Objective, x0: torch.Tensor, steps: int, **kw: float
) -> tuple[torch.Tensor, LBFGSGolden]:
    x = x0.clone().requires_grad_(True)
    opt = LBFGSGolden([x], **kw)  # type: ignore[arg-type]

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = f(x)
        loss.backward()  # type: ignore[no-untyped-call]
        return loss

    for _ in range(steps):
        opt.step(closure)
    return x.detach(), opt


def test_first_step_is_the_exact_minimiser_along_steepest_descent() -> None:
    a, b = _spd(5)
    x0 = torch.ones(5, dtype=torch.float64)
    g = a @ x0 - b
    exact = float(g.dot(g) / g.dot(a @ g))  # argmin_α f(x0 − α g) of f = ½xᵀAx − bᵀx
    x1, opt = _minimise(lambda x: 0.5 * x @ a @ x - b @ x, x0, 1, line_search_tol=1e-8)
    state = opt.state[next(iter(opt.state))]
    assert state["step_size"] == pytest.approx(exact, rel=1e-7)
    torch.testing.assert_close(x1, x0 - state["step_size"] * g, rtol=0, atol=1e-14)
    assert state["func_evals"] == 1 + state["search_evals"] == state["last_evaluations"]
    assert evaluations_per_step(opt) == state["last_evaluations"]


def test_spd_quadratic_converges_like_bfgs_in_n_iterations() -> None:
    n = 6
    a, b = _spd(n)
    x, _ = _minimise(lambda x: 0.5 * x @ a @ x - b @ x, torch.zeros(n, dtype=torch.float64), n + 1,
                     history_size=n, line_search_tol=1e-10, max_evals=200)  # fmt: skip
    scipy_x = scipy.optimize.minimize(
        lambda v: 0.5 * v @ a.numpy() @ v - b.numpy() @ v,
        np.zeros(n),
        jac=lambda v: a.numpy() @ v - b.numpy(),
        method="BFGS",
        options={"gtol": 1e-12},
    ).x
    torch.testing.assert_close(x, torch.linalg.solve(a, b), rtol=0, atol=1e-6)
    np.testing.assert_allclose(x.numpy(), scipy_x, atol=1e-6)


@pytest.mark.parametrize("n", [2, 4])
def test_rosenbrock_reaches_scipys_minimiser(n: int) -> None:
    def rosen(x: torch.Tensor) -> torch.Tensor:
        return (100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()

    x0 = np.array([-1.2, 1.0, -0.5, 0.8][:n])
    x, opt = _minimise(rosen, torch.tensor(x0), 150, line_search_tol=1e-8)
    scipy_x = scipy.optimize.minimize(
        scipy.optimize.rosen, x0, jac=scipy.optimize.rosen_der, method="BFGS"
    ).x
    np.testing.assert_allclose(x.numpy(), scipy_x, atol=1e-5)
    np.testing.assert_allclose(x.numpy(), np.ones(n), atol=1e-6)
    assert opt.state[next(iter(opt.state))]["n_iter"] == 150


def test_grad_after_step_weight_decay_and_state_round_trip() -> None:
    a, b = _spd(4, seed=1)
    f: Objective = lambda x: 0.5 * x @ a @ x - b @ x  # noqa: E731
    x0 = torch.linspace(-1, 1, 4, dtype=torch.float64)
    unbroken, _ = _minimise(f, x0, 5, weight_decay=0.1)
    # weight decay λ minimises f + ½λ‖x‖² exactly: (A + λI) x = b
    converged, opt = _minimise(f, x0, 20, weight_decay=0.1, line_search_tol=1e-10)
    torch.testing.assert_close(converged, torch.linalg.solve(a + 0.1 * torch.eye(4), b))
    # .grad holds the closure's gradient at the new point (without λx)
    p = opt.param_groups[0]["params"][0]
    torch.testing.assert_close(p.grad, a @ p.detach() - b)

    first, opt1 = _minimise(f, x0, 2, weight_decay=0.1)
    x = first.clone().requires_grad_(True)
    opt2 = LBFGSGolden([x], weight_decay=0.1)
    opt2.load_state_dict(opt1.state_dict())

    def closure() -> torch.Tensor:
        opt2.zero_grad()
        loss = f(x)
        loss.backward()  # type: ignore[no-untyped-call]
        return loss

    for _ in range(3):
        opt2.step(closure)
    assert torch.equal(x.detach(), unbroken)


def test_bad_inputs_raise_one_line_errors() -> None:
    p = torch.zeros(2, requires_grad=True)
    for kw, match in [
        ({"lr": 0.0}, "lr must be"),
        ({"history_size": 0}, "history_size must be"),
        ({"line_search_tol": 1.5}, "line_search_tol"),
        ({"max_evals": 1}, "max_evals"),
        ({"weight_decay": -1.0}, "weight_decay"),
    ]:
        with pytest.raises(ValueError, match=match):
            LBFGSGolden([p], **kw)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="one parameter group"):
        LBFGSGolden([{"params": [p]}, {"params": [torch.zeros(1, requires_grad=True)]}])
    opt = LBFGSGolden([p])
    with pytest.raises(ValueError, match="needs a closure"):
        opt.step()
    with pytest.raises(ValueError, match="returned None"):
        opt.step(lambda: None)


def test_full_batch_training_records_every_closure_call(tmp_path: Path) -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 8, generator=g)
    y = (x[:, 0] > 0).long()
    data = DataBundle("blobs", x, y, x[:32], y[:32], 2, "classification")
    config = TrainConfig(
        model="mlp",
        model_kwargs={"in_features": 8, "num_classes": 2, "hidden": [8], "batchnorm": True},
        dataset="blobs",
        dataset_kwargs={},
        schedule="lbfgs_golden:3",
        lr=None,
        epochs=3,
        batch_size=64,  # full batch: one quasi-Newton iteration per epoch
        device="cpu",
    )
    run = train(config, tmp_path, data=data)
    losses = [h["train_loss"] for h in run.history]
    assert losses[-1] < losses[0]
    opt = make_optimizer("lbfgs_golden", [torch.zeros(1, requires_grad=True)], lr=1.0)
    assert isinstance(opt, LBFGSGolden)
    assert evaluations_per_step(opt) == 2  # > 1 before any step: the loop replays dropout masks
    ckpt = torch.load(run.run_dir / "checkpoint.pt", weights_only=True)
    state = ckpt["optimizer"]["state"][0]
    assert (
        run.history[-1]["grad_evals"] - run.history[-2]["grad_evals"] == state["last_evaluations"]
    )
    assert state["n_iter"] == 3


@pytest.mark.parametrize("fail_at", [2, 3, 5])
def test_closure_error_in_the_line_search_leaves_parameters_and_state(fail_at: int) -> None:
    a, b = _spd(4)
    x = torch.ones(4, dtype=torch.float64, requires_grad=True)
    opt = LBFGSGolden([x])
    calls: list[int] = []  # closure calls of the failing step

    def closure() -> torch.Tensor:
        if calls:
            calls.append(1)
            if len(calls) == fail_at + 1:
                raise KeyError("data loader broke")
        opt.zero_grad()
        loss = 0.5 * x @ a @ x - b @ x
        loss.backward()  # type: ignore[no-untyped-call]
        return loss

    opt.step(closure)  # one full step: the state holds a curvature pair
    before, state = x.detach().clone(), repr(opt.state_dict())
    calls.append(0)
    with pytest.raises(KeyError, match="data loader broke"):
        opt.step(closure)
    assert torch.equal(x.detach(), before)
    assert repr(opt.state_dict()) == state
