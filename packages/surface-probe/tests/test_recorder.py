"""RSI / EB / γ recorder: quadratic known answers, untouched training, rk_optim stages, chunks."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import Tensor, nn

import rk_optim
import surface_probe as sp

from .conftest import make_mlp

DIM = 5


class Point(nn.Module):
    """A bare weight vector w; forward returns it once per input row."""

    def __init__(self, w: Tensor) -> None:
        super().__init__()
        self.w = nn.Parameter(w.clone())

    def forward(self, x: Tensor) -> Tensor:
        return self.w.expand(len(x), -1)


def quadratic(a: Tensor, w_star: Tensor) -> Callable[[Tensor, Any], Tensor]:
    """Per-row L(w) = ½ (w − w*)ᵀ A (w − w*)."""

    def loss(out: Tensor, _: Any) -> Tensor:
        d = out - w_star
        return 0.5 * ((d @ a) * d).sum(dim=1)

    return loss


@pytest.fixture
def problem() -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """A with eigenvalues 0.5..4 (and its eigenvectors), w*."""
    g = torch.Generator().manual_seed(0)
    q, _ = torch.linalg.qr(torch.randn(DIM, DIM, generator=g, dtype=torch.float64))
    lam = torch.tensor([0.5, 1.0, 1.5, 2.5, 4.0], dtype=torch.float64)
    return (q * lam) @ q.T, lam, q, torch.randn(DIM, generator=g, dtype=torch.float64)


def train_quadratic(
    w0: Tensor, a: Tensor, w_star: Tensor, tmp: Path, steps: int = 10, **kw: Any
) -> dict[str, np.ndarray]:
    model = Point(w0)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    data = (torch.zeros(4, 1, dtype=torch.float64), torch.zeros(4))
    rec = sp.GeometryRecorder(
        model, opt, w_star, tmp, full_data=data, full_every=2, loss_fn=quadratic(a, w_star), **kw
    )
    for _ in range(steps):
        opt.zero_grad()
        quadratic(a, w_star)(model.w.unsqueeze(0), None).sum().backward()
        opt.step()
    rec.close()
    return sp.load_geometry(tmp)


def test_quadratic_rsi_eb_within_spectrum(problem: Any, tmp_path: Path) -> None:
    a, lam, _, w_star = problem
    w0 = w_star + torch.randn(DIM, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    rows = train_quadratic(w0, a, w_star, tmp_path)
    for kind in ("grad", "update", "decayed", "full"):
        values = np.concatenate([rows[f"{kind}_rsi"], rows[f"{kind}_eb"]])
        values = values[np.isfinite(values)]
        assert len(values) >= 10
        assert np.all((values >= lam.min().item() - 1e-12) & (values <= lam.max().item() + 1e-12))
    np.testing.assert_allclose(rows["update_rsi"], rows["grad_rsi"], rtol=1e-10)  # SGD: Δw = −ηg
    np.testing.assert_allclose(rows["full_rsi"][::2], rows["grad_rsi"][::2], rtol=1e-10)
    assert np.all(np.isnan(rows["full_rsi"][1::2]))
    np.testing.assert_array_equal(rows["step"], np.arange(10))


@pytest.mark.parametrize("k", range(DIM))
def test_quadratic_eigenvector_gives_lambda_exactly(problem: Any, k: int, tmp_path: Path) -> None:
    a, lam, q, w_star = problem
    rows = train_quadratic(w_star + 0.7 * q[:, k], a, w_star, tmp_path, steps=3)
    for column in ("grad_rsi", "grad_eb"):
        np.testing.assert_allclose(rows[column], lam[k].item(), rtol=1e-10)
    np.testing.assert_allclose(rows["grad_gamma"], 1.0, rtol=1e-10)
    assert np.all(np.abs(rows["random_gamma"]) < 1.0)


def run_mlp(
    attach: Callable[[nn.Module, torch.optim.Optimizer], Any] | None,
    make_opt: Callable[[Any], torch.optim.Optimizer],
    closure_steps: bool = False,
) -> nn.Module:
    """A seeded BN + dropout MLP trained for 6 steps; the closure is wrapped by the recorder."""
    model = make_mlp(batchnorm=True, dropout=0.3, seed=2)
    opt = make_opt(model.parameters())
    rec = attach(model, opt) if attach is not None else None
    g = torch.Generator().manual_seed(3)
    torch.manual_seed(4)
    x = torch.randn(32, 4, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (32,), generator=g)
    model.train()
    for i in range(6):
        xb, yb = x[i * 5 : i * 5 + 8], y[i * 5 : i * 5 + 8]

        def closure(xb: Tensor = xb, yb: Tensor = yb) -> Tensor:
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(xb), yb)
            loss.backward()
            return loss

        if closure_steps:
            opt.step(rec.closure(closure) if rec is not None else closure)
        else:
            closure()
            opt.step()
    return model


OPTIMIZERS: dict[str, tuple[Callable[[Any], torch.optim.Optimizer], bool]] = {
    "sgd": (lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=1e-3), False),
    "adam": (lambda p: torch.optim.Adam(p, lr=1e-2), False),
    "heun": (lambda p: rk_optim.Heun(p, lr=0.1, weight_decay=1e-3), True),
    "adam_rk2": (lambda p: rk_optim.AdamRK2(p, lr=1e-2), True),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_training_is_bitwise_unchanged(name: str, tmp_path: Path) -> None:
    make_opt, closure_steps = OPTIMIZERS[name]
    plain = run_mlp(None, make_opt, closure_steps)
    rng_plain = torch.get_rng_state()
    x = torch.randn(16, 4, generator=torch.Generator().manual_seed(9), dtype=torch.float64)
    full = (x, torch.zeros(16, dtype=torch.long))
    stages = 2 if closure_steps else 0

    def attach(model: nn.Module, opt: torch.optim.Optimizer) -> sp.GeometryRecorder:
        ref = make_mlp(batchnorm=True, seed=7)
        kw = {"full_data": full, "full_every": 2, "stages": stages, "chunk_size": 4}
        return sp.GeometryRecorder(model, opt, ref, tmp_path, **kw)

    recorded = run_mlp(attach, make_opt, closure_steps)
    assert torch.equal(torch.get_rng_state(), rng_plain)
    for key, value in plain.state_dict().items():
        assert torch.equal(value, recorded.state_dict()[key]), key
    rows = sp.load_geometry(tmp_path)
    assert len(rows["step"]) == 4  # one full chunk; the open one is flushed by close()
    assert np.all(np.isfinite(rows["grad_gamma"]))
    if stages:
        assert np.all(np.isfinite(rows["stage1_gamma"]))


def test_rk_stages_and_combined_gradient(problem: Any, tmp_path: Path) -> None:
    """Heun on the quadratic: grad is ḡ = (d0 + d1)/2 = −Δw/η, stage 0 is the gradient at w."""
    a, _, _, w_star = problem
    model = Point(w_star + 1.0)
    opt = rk_optim.Heun(model.parameters(), lr=0.1)
    rec = sp.GeometryRecorder(model, opt, w_star, tmp_path, stages=2)
    w_before = model.w.detach().clone()

    def closure() -> Tensor:
        opt.zero_grad()
        loss = quadratic(a, w_star)(model.w.unsqueeze(0), None).sum()
        loss.backward()
        return loss

    opt.step(rec.closure(closure))
    rec.close()
    rows = sp.load_geometry(tmp_path)
    d = w_before - w_star
    expected_rsi0 = float((a @ d) @ d / (d @ d))
    np.testing.assert_allclose(rows["stage0_rsi"], expected_rsi0, rtol=1e-12)
    np.testing.assert_allclose(rows["grad_rsi"], rows["update_rsi"], rtol=1e-10)
    assert abs(rows["grad_rsi"][0] - expected_rsi0) > 1e-6  # ḡ differs from the first stage


def test_chunks_resume_and_errors(problem: Any, tmp_path: Path) -> None:
    a, _, _, w_star = problem
    model = Point(w_star + 1.0)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)

    def steps(n: int, rec: sp.GeometryRecorder) -> None:
        for _ in range(n):
            opt.zero_grad()
            quadratic(a, w_star)(model.w.unsqueeze(0), None).sum().backward()
            opt.step()
        rec.close()

    steps(7, sp.GeometryRecorder(model, opt, w_star, tmp_path, chunk_size=3))
    assert len(list(tmp_path.glob("chunk_*.npz"))) == 3
    steps(2, sp.GeometryRecorder(model, opt, w_star, tmp_path, chunk_size=3))
    np.testing.assert_array_equal(sp.load_geometry(tmp_path)["step"], np.arange(9))
    assert not list(tmp_path.glob("*.tmp*"))
    with pytest.raises(ValueError, match="columns"):
        sp.GeometryRecorder(model, opt, w_star, tmp_path, stages=1)
    with pytest.raises(ValueError, match="reference must have shape"):
        sp.GeometryRecorder(model, opt, torch.zeros(3), tmp_path / "x")
    with pytest.raises(FileNotFoundError, match=r"no meta\.npz"):
        sp.load_geometry(tmp_path / "missing")


def test_two_pass_records_against_final_weights(tmp_path: Path) -> None:
    make_opt, _ = OPTIMIZERS["sgd"]
    rows = sp.two_pass(lambda attach: run_mlp(attach, make_opt), tmp_path / "a")
    assert len(rows["step"]) == 6
    assert rows["distance"][-1] < rows["distance"][0]
    calls = iter(range(2))

    def drifting(attach: Any) -> nn.Module:
        model = run_mlp(attach, make_opt)
        with torch.no_grad():
            model[0].weight += next(calls)  # the second run ends elsewhere
        return model

    with pytest.raises(RuntimeError, match="not deterministic"):
        sp.two_pass(drifting, tmp_path / "b")
    with pytest.raises(FileExistsError, match="already holds a recording"):
        sp.two_pass(lambda attach: run_mlp(attach, make_opt), tmp_path / "a")


def test_shuffled_labels_is_a_seeded_permutation() -> None:
    y = torch.arange(10)
    s = sp.shuffled_labels(y, seed=1)
    assert torch.equal(s.sort().values, y)
    assert torch.equal(s, sp.shuffled_labels(y, seed=1))
    assert not torch.equal(s, y)


@pytest.mark.parametrize("grouped", [False, True])
def test_sgd_update_equals_gradient_plus_weight_decay(grouped: bool, tmp_path: Path) -> None:
    """Plain SGD with weight decay steps by −η(g + λw): the update and decayed rows coincide,
    with one shared (η, λ) and with per-group values."""
    model = make_mlp(batchnorm=False, seed=1)
    first, last = model[0].parameters(), model[3].parameters()
    groups = (
        [{"params": first, "lr": 0.1, "weight_decay": 0.05}, {"params": last, "lr": 0.03}]
        if grouped
        else [{"params": model.parameters(), "lr": 0.1, "weight_decay": 0.05}]
    )
    opt = torch.optim.SGD(groups, lr=0.1)
    rec = sp.GeometryRecorder(model, opt, make_mlp(batchnorm=False, seed=2), tmp_path)
    x = torch.randn(16, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    for _ in range(3):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), torch.zeros(16, dtype=torch.long)).backward()
        opt.step()
    rec.close()
    rows = sp.load_geometry(tmp_path)
    for stat in ("rsi", "eb", "gamma"):
        np.testing.assert_allclose(rows[f"update_{stat}"], rows[f"decayed_{stat}"], rtol=1e-9)
    assert not np.allclose(rows["decayed_rsi"], rows["grad_rsi"])


def test_random_baseline_has_the_sphere_distribution(problem: Any, tmp_path: Path) -> None:
    """γ of a uniformly random direction in R^d: mean 0, variance 1/d, |γ| ≤ 1; EB = ‖g‖/dist."""
    _, _, _, w_star = problem
    model = Point(w_star + 1.0)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    rec = sp.GeometryRecorder(model, opt, w_star, tmp_path, seed=3)
    draws = []
    for step in range(4000):  # the baseline is drawn from (seed, step)
        rec.step = step
        draws.append(rec._random(2.0, 4.0))
    draws = np.array(draws)
    rec.close()
    np.testing.assert_allclose(draws[:, 1], 0.5)
    np.testing.assert_allclose(draws[:, 0], draws[:, 2] * 0.5)
    assert np.all(np.abs(draws[:, 2]) <= 1.0)
    assert abs(draws[:, 2].mean()) < 4 * np.sqrt(1 / DIM / 4000)
    assert draws[:, 2].var() == pytest.approx(1 / DIM, rel=0.08)
