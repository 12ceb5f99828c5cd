"""Path profiles: barrier formulas, exact endpoints under every BN policy, resumable runs."""

from __future__ import annotations

from pathlib import Path as FilePath

import numpy as np
import pytest
import torch

import surface_probe as sp
from surface_probe.paths.profile import barriers

from .conftest import Batches, make_mlp


def test_barrier_formulas_on_a_hand_made_profile() -> None:
    ts = np.array([0.0, 0.5, 1.0])
    loss = np.array([1.0, 4.0, 3.0])
    lengths = np.array([1.0, 3.0])
    got = barriers(ts, loss, lengths)
    assert got["height"] == 4.0
    assert got["lmc_barrier"] == 4.0 - 2.0  # linear interpolation of the ends at t = 1/2 is 2
    assert got["saddle"] == 1.0
    assert got["mean_loss"] == pytest.approx((2.5 * 1 + 3.5 * 3) / 4)
    assert got["length"] == 4.0


@pytest.mark.parametrize("bn", ["recompute", "frozen", "batch", "interpolate"])
def test_profile_ends_equal_endpoint_losses_bitwise(bn: str, batches: Batches) -> None:
    a, b = make_mlp(batchnorm=True, seed=0), make_mlp(batchnorm=True, seed=1)
    p = sp.path(a, a, b, kind="fourier", bends=3)
    p = p.with_free(torch.randn(p.free.shape, dtype=torch.float64) * 0.1)
    r = sp.path_profile(a, p, batches, bn=bn, metrics=["accuracy"], steps=5)
    for end, model, t in ((0, a, 0.0), (-1, b, 1.0)):
        ev = sp.Evaluator(a, batches, bn=bn, metrics=["accuracy"])
        theta = ev.space.params_vector(model)[None]
        bufs = ev.space.buffers_vector(model)[None] if bn == "interpolate" else None
        want = ev.evaluate(theta, bufs)
        assert r.ts[end] == t
        assert r.loss[end] == want["loss"][0]
        assert r.metrics["accuracy"][end] == want["accuracy"][0]
    line = sp.line(a, a, b, batches, bn=bn, alphas=[0.0, 1.0])
    assert r.loss[0] == line.loss[0]
    assert r.loss[-1] == line.loss[-1]


def test_linear_profile_matches_the_line_probe(batches: Batches) -> None:
    a, b = make_mlp(batchnorm=False, seed=0), make_mlp(batchnorm=False, seed=1)
    alphas = np.linspace(0, 1, 7)
    r = sp.path_profile(a, sp.path(a, a, b), batches, ts=alphas)
    assert np.allclose(r.loss, sp.line(a, a, b, batches, alphas=alphas).loss, rtol=1e-12)
    assert r.meta["path"] == "linear"
    assert r.meta["bn"] == "none"


def test_profile_checkpoint_resumes_and_result_round_trips(
    tmp_path: FilePath, batches: Batches
) -> None:
    a, b = make_mlp(batchnorm=False, seed=0), make_mlp(batchnorm=False, seed=1)
    p = sp.path(a, a, b, kind="polychain", bends=2)
    ck = tmp_path / "ck.npz"
    calls: list[int] = []

    def counting(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        calls.append(1)
        return torch.nn.functional.cross_entropy(out, y)

    kw = {"steps": 9, "checkpoint": ck, "loss_fn": counting, "checkpoint_key": "ce"}
    first = sp.path_profile(a, p, batches, chunk_size=2, **kw)  # type: ignore[arg-type]
    calls.clear()
    with pytest.raises(ValueError, match="different arguments"):
        sp.path_profile(a, p, batches, metrics=["accuracy"], **kw)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"differs in: data\b"):
        sp.path_profile(a, p, batches[:1], **kw)  # type: ignore[arg-type]
    again = sp.path_profile(a, p, batches, **kw)  # type: ignore[arg-type]
    assert not calls
    assert np.array_equal(first.loss, again.loss)
    first.save(tmp_path / "r.npz")
    back = sp.PathResult.load(tmp_path / "r.npz")
    assert back.barriers() == first.barriers()
    assert np.array_equal(back.ts, first.ts)
