"""Fitted paths: the ring's curved valley is found, the two-well saddle is not undercut, a killed
fit resumes to the same result, and the NEB rule relaxes a bead chain."""

from __future__ import annotations

from pathlib import Path as FilePath

import pytest
import torch

import surface_probe as sp

from ._toys import DATA, Point, ring, ring_ends, wells
from .conftest import make_mlp


def _adam(lr: float) -> sp.paths.fit.OptimizerFactory:
    return lambda params: torch.optim.Adam(params, lr=lr)


@pytest.mark.parametrize(
    ("kind", "bends", "objective", "steps", "lr"),
    [
        ("fourier", 10, "discrete", 100, 0.05),
        ("fourier", 10, "expected", 400, 0.01),
        ("bezier", 1, "expected", 200, 0.05),
        ("polychain", 3, "expected", 300, 0.05),
        ("beads", 3, "neb", 150, 0.05),
    ],
)
def test_fitted_paths_follow_the_ring_valley(
    kind: str, bends: int, objective: str, steps: int, lr: float
) -> None:
    a, b = ring_ends()
    start = sp.path(a, a, b, kind=kind, bends=bends)  # type: ignore[arg-type]
    fitted = sp.fit_path(
        a,
        start,
        DATA,
        steps=steps,
        objective=objective,  # type: ignore[arg-type]
        optimizer=_adam(lr),
        points=12,
        loss_fn=ring,
    )
    assert torch.equal(fitted.ends, start.ends)
    assert sp.path_profile(a, start, DATA, loss_fn=ring).height > 0.7
    assert sp.path_profile(a, fitted, DATA, loss_fn=ring, steps=201).height <= 0.02


@pytest.mark.parametrize("objective", ["expected", "discrete"])
def test_no_fitted_path_undercuts_the_saddle(objective: str) -> None:
    a, b = Point(-1.0, 0.0), Point(1.0, 0.0)
    bends = 0.3 * torch.randn(3, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    start = sp.path(a, a, b, kind="polychain", bends=bends)
    fitted = sp.fit_path(
        a,
        start,
        DATA,
        steps=150,
        objective=objective,
        optimizer=_adam(0.05),
        points=20,
        loss_fn=wells,
    )  # type: ignore[arg-type]
    height = sp.path_profile(a, fitted, DATA, loss_fn=wells, steps=401).height
    assert height >= 1.0 - 1e-3  # the sampled maximum may miss the exact crossing by one step


def test_killed_fit_resumes_to_the_uninterrupted_result(tmp_path: FilePath) -> None:
    a, b = ring_ends()
    start = sp.path(a, a, b, kind="bezier", bends=2)
    whole = sp.fit_path(a, start, DATA, steps=30, optimizer=_adam(0.05), loss_fn=ring)
    calls = 0

    def dies_at_step_17(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        nonlocal calls
        calls += 1
        if calls == 17:
            raise KeyboardInterrupt
        return ring(out, y)

    ck = tmp_path / "fit.pt"
    options = {
        "optimizer": _adam(0.05),
        "checkpoint": ck,
        "checkpoint_every": 5,
        "checkpoint_key": "ring",  # the closures below all stand for the ring loss
    }
    with pytest.raises(KeyboardInterrupt):
        sp.fit_path(a, start, DATA, steps=30, loss_fn=dies_at_step_17, **options)  # type: ignore[arg-type]
    assert torch.load(ck, weights_only=True)["step"] == 15

    def ring_again(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return ring(out, y)

    resumed = sp.fit_path(a, start, DATA, steps=30, loss_fn=ring_again, **options)  # type: ignore[arg-type]
    assert torch.equal(resumed.free, whole.free)
    with pytest.raises(ValueError, match="another fit"):
        sp.fit_path(a, start, DATA, steps=30, objective="discrete", loss_fn=ring_again, **options)  # type: ignore[arg-type]


def test_fit_refuses_bad_arguments() -> None:
    a, b = ring_ends()
    with pytest.raises(ValueError, match="nothing to fit"):
        sp.fit_path(a, sp.path(a, a, b), DATA, steps=1, loss_fn=ring)
    with pytest.raises(ValueError, match="objective='neb' needs a chain"):
        sp.fit_path(
            a, sp.path(a, a, b, kind="bezier"), DATA, steps=1, objective="neb", loss_fn=ring
        )
    with pytest.raises(ValueError, match="objective must be one of"):
        sp.fit_path(
            a, sp.path(a, a, b, kind="bezier"), DATA, steps=1, objective="sum", loss_fn=ring
        )  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="'lr'"):
        sp.fit_path(a, sp.path(a, a, b, kind="bezier"), DATA, steps=1, lr=0.1)  # type: ignore[call-arg]

    def nan_loss(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return ring(out, y) * float("nan")

    with pytest.raises(FloatingPointError, match="at step 0"):
        sp.fit_path(a, sp.path(a, a, b, kind="bezier"), DATA, steps=3, loss_fn=nan_loss)


@pytest.mark.parametrize("bn", ["recompute", "batch", "frozen", "interpolate"])
def test_fit_honours_every_bn_policy_and_lowers_the_expected_loss(bn: str) -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(32, 4, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (32,), generator=g)
    a, b = make_mlp(batchnorm=True, seed=0), make_mlp(batchnorm=True, seed=1)
    start = sp.path(a, a, b, kind="bezier", bends=1)
    fitted = sp.fit_path(a, start, (x, y), steps=40, optimizer=_adam(0.05), bn=bn)
    assert torch.equal(fitted.ends, start.ends)
    before = sp.path_profile(a, start, (x, y), bn=bn, steps=11)
    after = sp.path_profile(a, fitted, (x, y), bn=bn, steps=11)
    assert after.mean_loss < before.mean_loss
    assert after.loss[0] == before.loss[0]
    assert after.loss[-1] == before.loss[-1]
    assert after.meta["bn"] == bn


def test_bf16_fit_moves_the_path_like_fp32() -> None:
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(32, 4, generator=g), torch.randint(0, 3, (32,), generator=g)
    a, b = make_mlp(batchnorm=False, seed=0).float(), make_mlp(batchnorm=False, seed=1).float()
    start = sp.path(a, a, b, kind="bezier", bends=1)
    runs = [
        sp.fit_path(a, start, (x, y), steps=5, optimizer=_adam(0.01), precision=p)
        for p in ("fp32", "bf16")
    ]
    assert not torch.equal(runs[0].free, start.free)
    assert not torch.equal(runs[1].free, runs[0].free)
    assert torch.allclose(runs[0].free, runs[1].free, atol=0.02)


@pytest.mark.parametrize(
    ("option", "value"),
    [("steps", -1), ("points", 1), ("checkpoint_every", 0), ("lam", -1.0), ("spring", -1.0)],
)
def test_fit_names_the_bad_number(option: str, value: float) -> None:
    a, b = ring_ends()
    with pytest.raises(ValueError, match=f"^{option} must be ") as err:
        sp.fit_path(
            a, sp.path(a, a, b, kind="beads"), DATA, **{"steps": 1, option: value}, loss_fn=ring
        )  # type: ignore[arg-type]
    assert "\n" not in str(err.value)
