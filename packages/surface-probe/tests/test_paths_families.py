"""Path families: exact endpoints, the known straight-line barrier of the ring, save/load."""

from __future__ import annotations

from pathlib import Path as FilePath

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import surface_probe as sp
from surface_probe.paths.families import as_ts

from ._toys import DATA, ring, ring_ends

KINDS = [("linear", 0), ("fourier", 10), ("bezier", 3), ("polychain", 3), ("beads", 3)]


def _random_path(kind: str, bends: int) -> sp.Path:
    a, b = ring_ends()
    g = torch.Generator().manual_seed(0)
    free = torch.randn(bends, 2, generator=g, dtype=torch.float64)
    return sp.path(a, a, b, kind=kind, bends=free if bends else 0)  # type: ignore[arg-type]


@pytest.mark.parametrize(("kind", "bends"), KINDS)
def test_endpoints_are_returned_bitwise(kind: str, bends: int) -> None:
    p = _random_path(kind, bends)
    pts = p.points(as_ts([0.0, 1.0]))
    assert torch.equal(pts[0], p.ends[0])
    assert torch.equal(pts[1], p.ends[1])


@pytest.mark.parametrize(("kind", "bends"), KINDS)
def test_integer_bends_start_on_the_straight_line(kind: str, bends: int) -> None:
    a, b = ring_ends()
    p = sp.path(a, a, b, kind=kind, bends=bends)  # type: ignore[arg-type]
    t = as_ts(np.linspace(0, 1, 9))
    line = sp.path(a, a, b).points(t)
    assert torch.allclose(p.points(t), line, atol=1e-12)


def test_chain_passes_through_its_nodes_at_its_knots() -> None:
    for kind in ("polychain", "beads"):
        p = _random_path(kind, 3)
        assert torch.allclose(p.points(p.knots()), p.nodes(), atol=1e-12)
    beads = _random_path("beads", 3)
    gaps = torch.linalg.vector_norm(beads.nodes()[1:] - beads.nodes()[:-1], dim=1)
    assert torch.allclose(beads.knots()[1:-1], gaps.cumsum(0)[:-1] / gaps.sum())


def test_bezier_and_fourier_formulas() -> None:
    p = _random_path("bezier", 1)  # quadratic: (1-t)² a + 2t(1-t) w + t² b
    t = 0.3
    want = (1 - t) ** 2 * p.ends[0] + 2 * t * (1 - t) * p.free[0] + t**2 * p.ends[1]
    assert torch.allclose(p.points(as_ts([t]))[0], want)
    f = _random_path("fourier", 2)
    want = (1 - t) * f.ends[0] + t * f.ends[1]
    want = want + np.sin(np.pi * t) * f.free[0] + np.sin(2 * np.pi * t) * f.free[1]
    assert torch.allclose(f.points(as_ts([t]))[0], want)


def test_straight_line_on_the_ring_peaks_at_its_midpoint() -> None:
    a, b = ring_ends()
    r = sp.path_profile(a, sp.path(a, a, b), DATA, loss_fn=ring, steps=201)
    assert r.height == pytest.approx(0.7286, abs=5e-5)  # sin⁴(67.5°) = 0.72855
    assert r.ts[np.argmax(r.loss)] == 0.5
    assert r.length == pytest.approx(2 * np.sin(3 * np.pi / 8))


def test_path_save_load_round_trip(tmp_path: FilePath) -> None:
    p = _random_path("beads", 3)
    p.save(tmp_path / "p.npz")
    q = sp.Path.load(tmp_path / "p.npz")
    assert q.kind == p.kind
    assert torch.equal(q.free, p.free)
    assert torch.equal(q.ends, p.ends)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16, torch.float32])
def test_path_save_load_keeps_the_dtype_bitwise(dtype: torch.dtype, tmp_path: FilePath) -> None:
    p = _random_path("bezier", 2)
    p = sp.Path(p.kind, p.ends.to(dtype), p.free.to(dtype), p.buffers.to(dtype))
    p.save(tmp_path / "p.npz")
    q = sp.Path.load(tmp_path / "p.npz")
    for name in ("ends", "free", "buffers"):
        assert getattr(q, name).dtype == dtype
        assert torch.equal(getattr(q, name), getattr(p, name))


def test_bad_input_is_named() -> None:
    a, b = ring_ends()
    with pytest.raises(ValueError, match="kind must be one of"):
        sp.path(a, a, b, kind="spline")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="bends must have shape"):
        sp.path(a, a, b, kind="bezier", bends=torch.zeros(2, 3))
    with pytest.raises(KeyError, match="b: weight set is missing"):
        sp.path(a, a, {"other": torch.zeros(2)})
    with pytest.raises(ValueError, match="ts must be"):
        sp.path_profile(a, sp.path(a, a, b), DATA, loss_fn=ring, ts=[0.0, 1.5])
    with pytest.raises(TypeError, match="'colour'"):
        sp.path_profile(a, sp.path(a, a, b), DATA, loss_fn=ring, colour=1)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="path has dim 2"):
        sp.path_profile(torch.nn.Linear(3, 1), sp.path(a, a, b), DATA)


@settings(max_examples=40, deadline=None)
@given(
    kind=st.sampled_from(["bezier", "polychain", "beads"]),
    bends=st.integers(1, 6),
    t=st.floats(0.0, 1.0),
)
def test_chain_and_bezier_weights_are_a_partition_of_unity(kind: str, bends: int, t: float) -> None:
    p = _random_path(kind, bends)
    c = p.coefficients(as_ts([t]))
    assert c.shape == (1, bends + 2)
    assert bool((c >= 0).all())
    assert float(c.sum()) == pytest.approx(1.0, abs=1e-12)


def test_weight_set_bends_are_chain_nodes() -> None:
    a, b = ring_ends()
    bend = ring_ends()[0]
    with torch.no_grad():
        bend.theta.copy_(torch.tensor([0.0, 1.0], dtype=torch.float64))
    p = sp.path(a, a, b, kind="polychain", bends=[bend])
    assert torch.equal(p.points(as_ts([0.5]))[0], bend.theta.detach())
    with pytest.raises(TypeError, match="Fourier bends are coefficients"):
        sp.path(a, a, b, kind="fourier", bends=[bend])
