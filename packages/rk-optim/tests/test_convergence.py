"""Global convergence order of the RK optimizers on the gradient flow dθ/dt = −∇L(θ)."""

import numpy as np
import pytest
import scipy.integrate
import scipy.linalg
import torch
from hypothesis import given
from hypothesis import strategies as st

from rk_optim import EULER, HEUN, MIDPOINT, RALSTON, RK3, RK4, ButcherTableau, RungeKutta

T = 1.0
STEPS = [2.0**-k for k in (5, 6, 7, 8)]  # lr·λmax ≤ 2 · 2^-5 = 1/16


def integrate(grad_fn, x0: np.ndarray, tableau: ButcherTableau, lr: float) -> np.ndarray:
    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    opt = RungeKutta([x], lr=lr, tableau=tableau)

    def closure() -> torch.Tensor:
        opt.zero_grad()
        x.grad = grad_fn(x.detach())
        return torch.zeros(())

    for _ in range(round(T / lr)):
        opt.step(closure)
    return x.detach().numpy()


def fitted_order(errors: list[float]) -> float:
    return float(np.polyfit(np.log(STEPS), np.log(errors), 1)[0])


@given(
    dim=st.integers(1, 6),
    spectrum_seed=st.integers(0, 2**31 - 1),
    tableau=st.sampled_from([EULER, MIDPOINT, HEUN, RALSTON, RK3, RK4]),
)
def test_order_on_quadratics(dim: int, spectrum_seed: int, tableau: ButcherTableau) -> None:
    rng = np.random.default_rng(spectrum_seed)
    q, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
    lam = rng.uniform(0.5, 2.0, dim)  # SPD, λmax ≤ 2
    A = (q * lam) @ q.T
    x0 = rng.standard_normal(dim)
    exact = scipy.linalg.expm(-A * T) @ x0
    At = torch.tensor(A)
    errors = [
        float(np.linalg.norm(integrate(lambda x: At @ x, x0, tableau, h) - exact)) for h in STEPS
    ]
    slope = fitted_order(errors)
    tol = {1: 0.15, 2: 0.15, 3: 0.2, 4: 0.25}[tableau.order]
    assert abs(slope - tableau.order) < tol, (errors, slope)


def _nonlinear_grad(x: torch.Tensor) -> torch.Tensor:
    # L(x) = Σ log cosh(x_i) + ½ xᵀMx with a fixed SPD M: ∇L = tanh(x) + Mx
    return torch.tanh(x) + torch.tensor(M_NONLIN) @ x


M_NONLIN = np.array([[1.0, 0.3, 0.0], [0.3, 0.8, 0.2], [0.0, 0.2, 0.5]])
X0_NONLIN = np.array([2.0, -1.5, 1.0])


def test_rk2_tableaux_differ_off_quadratics_and_keep_order_two() -> None:
    def f(_t: float, x: np.ndarray) -> np.ndarray:
        return -(np.tanh(x) + M_NONLIN @ x)

    sol = scipy.integrate.solve_ivp(f, (0, T), X0_NONLIN, method="DOP853", rtol=1e-13, atol=1e-14)
    exact = sol.y[:, -1]
    finals = {}
    for tableau in (MIDPOINT, HEUN, RALSTON):
        runs = [integrate(_nonlinear_grad, X0_NONLIN, tableau, h) for h in STEPS]
        errors = [float(np.linalg.norm(r - exact)) for r in runs]
        assert abs(fitted_order(errors) - 2) < 0.15, (tableau.name, errors)
        finals[tableau.name] = runs[0]
    # on a quadratic the three coincide; here they must not
    assert np.abs(finals["midpoint"] - finals["heun"]).max() > 1e-6
    assert np.abs(finals["ralston"] - finals["heun"]).max() > 1e-6


@pytest.mark.parametrize("tableau", [MIDPOINT, HEUN, RALSTON])
def test_rk2_tableaux_coincide_on_quadratics(tableau: ButcherTableau) -> None:
    A = torch.tensor([[2.0, 0.5], [0.5, 1.0]], dtype=torch.float64)
    x0 = np.array([1.0, -1.0])
    ref = integrate(lambda x: A @ x, x0, HEUN, 1 / 32)
    np.testing.assert_allclose(integrate(lambda x: A @ x, x0, tableau, 1 / 32), ref, rtol=1e-12)
