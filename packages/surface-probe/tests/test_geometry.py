"""Geometry: exact anchors, formulas, grid alignment, random directions and normalization."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from surface_probe import geometry as g


def _vecs(k: int, dim: int = 7, seed: int = 0) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(dim, generator=gen) for _ in range(k)]


def test_line_endpoints_exact_and_formula() -> None:
    a, b = _vecs(2)
    pts = g.combine(g.line_coefficients([0.0, 1.0, 0.25, -0.5, 2.0]), torch.stack([a, b]))
    assert torch.equal(pts[0], a)
    assert torch.equal(pts[1], b)
    for row, al in zip(pts[2:], (0.25, -0.5, 2.0), strict=True):
        torch.testing.assert_close(row, (1 - al) * a + al * b)


def test_bilinear_corners_and_formula() -> None:
    t1, t2, t3, t4 = _vecs(4)
    c = g.bilinear_coefficients([1, 0, 1, 0, 0.3], [1, 1, 0, 0, 0.6])
    pts = g.combine(c, torch.stack([t1, t2, t3, t4]))
    for row, t in zip(pts[:4], (t1, t2, t3, t4), strict=True):
        assert torch.equal(row, t)
    al, be = 0.3, 0.6
    expect = be * (al * t1 + (1 - al) * t2) + (1 - be) * (al * t3 + (1 - al) * t4)
    torch.testing.assert_close(pts[4], expect)


def test_barycentric_vertices_and_formula() -> None:
    t0, t1, t2 = _vecs(3)
    c = g.barycentric_coefficients([0, 0, 1, 1, 0.4], [0.3, 1, 1, 0, 0.7])
    pts = g.combine(c, torch.stack([t0, t1, t2]))
    assert torch.equal(pts[0], t0)
    assert torch.equal(pts[1], t0)
    assert torch.equal(pts[2], t1)
    assert torch.equal(pts[3], t2)
    al, be = 0.4, 0.7
    expect = t0 + al * (be * (t1 - t0) + (1 - be) * (t2 - t0))
    torch.testing.assert_close(pts[4], expect)


def test_grid_alignment_non_square() -> None:
    x, y = g.axis(-1, 1, 3), g.axis(0, 1, 5)
    xs, ys = g.grid(x, y)
    assert xs.shape == (15,)
    vals = (10 * xs + ys).reshape(5, 3)  # loss[j, i] at (x[i], y[j])
    for j in range(5):
        for i in range(3):
            assert vals[j, i] == 10 * x[i] + y[j]


def test_axis_is_linspace_not_accumulated() -> None:
    a = g.axis(-1.0, 1.0, 21)
    assert a[0] == -1.0
    assert a[-1] == 1.0
    assert a[10] == 0.0
    np.testing.assert_array_equal(a, np.linspace(-1.0, 1.0, 21))
    with pytest.raises(ValueError, match="at least 1 point"):
        g.axis(0, 1, 0)


def test_wrong_counts_and_shapes() -> None:
    with pytest.raises(ValueError, match=r"coefficients \(1, 4\) do not match anchors \(3, 7\)"):
        g.combine(g.bilinear_coefficients([0.5], [0.5]), torch.stack(_vecs(3)))
    with pytest.raises(ValueError, match="equal length"):
        g.plane_coefficients([0.1, 0.2], [0.3])


def test_filter_normalization_matches_filter_norms() -> None:
    w = torch.randn(4, 3, 2, 2, dtype=torch.float64)
    w[2] = 0.0  # an all-zero filter: no division by zero, direction filter becomes 0
    d = torch.randn(4, 3, 2, 2, dtype=torch.float64)
    d[1] = 0.0
    out = g.normalize_tensor(d, w)
    for i in range(4):
        expected = 0.0 if i in (1, 2) else float(w[i].norm())
        assert float(out[i].norm()) == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert torch.isfinite(out).all()
    # direction within each filter unchanged
    torch.testing.assert_close(out[0] / out[0].norm(), d[0] / d[0].norm())


def test_biasbn_zeroed_and_layer_and_none() -> None:
    b, db = torch.randn(5), torch.randn(5)
    assert torch.equal(g.normalize_tensor(db, b), torch.zeros(5))
    kept = g.normalize_tensor(db, b, ignore=None)
    assert float(kept.norm()) == pytest.approx(float(b.norm()), rel=1e-6)
    w, d = torch.randn(3, 4), torch.randn(3, 4)
    lay = g.normalize_tensor(d, w, normalization="layer")
    assert float(lay.norm()) == pytest.approx(float(w.norm()), rel=1e-6)
    assert torch.equal(g.normalize_tensor(d, w, normalization=None), d)
    with pytest.raises(ValueError, match="normalization"):
        g.normalize_tensor(d, w, normalization="bogus")  # type: ignore[arg-type]


def test_random_direction_is_gaussian_on_device_and_dtype() -> None:
    theta = torch.zeros(20000, dtype=torch.float64)
    d = g.random_direction_vector(
        theta,
        [torch.Size([20000])],
        normalization=None,
        ignore=None,
        generator=torch.Generator().manual_seed(0),
    )
    assert d.dtype == torch.float64
    assert d.device == theta.device
    assert (d < 0).float().mean() > 0.45  # U[0,1) would have no negative entries
    assert float(d.mean()) == pytest.approx(0.0, abs=0.03)
    assert float(d.std()) == pytest.approx(1.0, abs=0.03)
    d32 = g.random_direction_vector(
        theta.float(),
        [torch.Size([20000])],
        normalization=None,
        ignore=None,
        generator=torch.Generator().manual_seed(0),
    )
    assert d32.dtype == torch.float32
    torch.testing.assert_close(d32.double(), d, rtol=1e-6, atol=1e-6)


@settings(max_examples=25, deadline=None)
@given(st.floats(-3, 3), st.floats(-3, 3))
def test_plane_coefficients_property(x: float, y: float) -> None:
    c, d1, d2 = (v.double() for v in _vecs(3))
    pt = g.combine(g.plane_coefficients([x], [y]), torch.stack([c, d1, d2]))[0]
    torch.testing.assert_close(pt, c + x * d1 + y * d2, rtol=1e-12, atol=1e-12)


def test_trajectory_pca_recovers_plane() -> None:
    gen = torch.Generator().manual_seed(1)
    basis = torch.linalg.qr(torch.randn(10, 2, generator=gen, dtype=torch.float64))[0].T
    coords = torch.randn(8, 2, generator=gen, dtype=torch.float64) * torch.tensor([3.0, 1.0])
    traj = coords @ basis
    res = g.trajectory_pca(traj, reference=torch.zeros(10, dtype=torch.float64))
    assert res.explained_variance_ratio.sum() == pytest.approx(1.0)
    proj = res.directions @ basis.T  # 2x2 orthogonal
    torch.testing.assert_close(proj @ proj.T, torch.eye(2, dtype=torch.float64))


def test_combine_non_finite_anchor_does_not_poison_other_points() -> None:
    a, b = _vecs(2)
    b[3] = float("inf")
    pts = g.combine(g.line_coefficients([0.0, 0.5, 1.0]), torch.stack([a, b]))
    assert torch.equal(pts[0], a)
    assert torch.isinf(pts[1, 3])
    assert torch.isfinite(pts[1, :3]).all()
    assert torch.equal(pts[2], b)


def test_combine_gives_each_point_independently_of_the_other_points() -> None:
    torch.manual_seed(0)
    anchors = torch.randn(3, 5000)
    coefficients = torch.rand(7, 3)
    full = g.combine(coefficients, anchors)
    for rows in (slice(1, None, 2), slice(0, 1), slice(2, 5), slice(6, 7)):
        assert torch.equal(g.combine(coefficients[rows], anchors), full[rows])
