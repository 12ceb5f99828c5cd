"""Curvature: eigenpairs, trace intervals and SLQ moments against dense Hessians (float64)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch import Tensor, nn
from torch.func import functional_call, hessian

import surface_probe as sp
from surface_probe._objective import Objective
from surface_probe.spectral import hutchinson, hutchpp, lanczos_quadrature, top_eigenpairs

from .conftest import Batches, make_mlp


def dense_hessian(model: nn.Module, batches: Batches, names: list[str] | None = None) -> Tensor:
    """∇²L by torch.func.hessian of the example-weighted mean loss over the batches (eval mode)."""
    model = copy.deepcopy(model).eval()
    named = dict(model.named_parameters())
    names = names or list(named)
    shapes = [named[n].shape for n in names]
    flat = torch.cat([named[n].detach().reshape(-1) for n in names])
    n_total = sum(len(y) for _, y in batches)

    def loss(theta: Tensor) -> Tensor:
        parts = torch.split(theta, [s.numel() for s in shapes])
        params = {n: p.view(s) for n, p, s in zip(names, parts, shapes, strict=True)}
        total = theta.new_zeros(())
        for x, y in batches:
            out = functional_call(model, params, (x,))
            total = total + nn.functional.cross_entropy(out, y) * len(y) / n_total
        return total

    return hessian(loss)(flat)


def spd(eigs: Tensor, seed: int = 0) -> Tensor:
    """Symmetric matrix Q diag(eigs) Qᵀ with a seeded random orthogonal Q."""
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(len(eigs), len(eigs), generator=g, dtype=torch.float64))
    return (q * eigs) @ q.T


@pytest.mark.parametrize("batchnorm", [False, True])
def test_top_eigenpairs_match_dense_hessian(batchnorm: bool, batches: Batches) -> None:
    model = make_mlp(batchnorm=batchnorm)
    before = copy.deepcopy(model.state_dict())
    h = dense_hessian(model, batches)
    exact = torch.linalg.eigvalsh(h).flip(0)[:3].numpy()
    got = sp.hessian_eigenpairs(model, batches, k=3)
    np.testing.assert_allclose(got.values, exact, rtol=1e-6)
    for value, vec in zip(got.values, got.vectors, strict=True):
        torch.testing.assert_close(h @ vec, value * vec, atol=1e-6, rtol=0)
    assert got.meta["bn"] == ("frozen" if batchnorm else "none")
    assert got.num_hvps > 0
    for key, value in model.state_dict().items():  # the user's model is untouched
        assert torch.equal(value, before[key]), key


def test_parameter_subset_is_the_hessian_block(batches: Batches) -> None:
    model = make_mlp(batchnorm=False)
    names = ["3.weight", "3.bias"]
    h = dense_hessian(model, batches, names)
    got = sp.hessian_eigenpairs(model, batches, k=2, params=["3"])
    np.testing.assert_allclose(
        got.values, torch.linalg.eigvalsh(h.detach()).flip(0)[:2].numpy(), rtol=1e-6
    )
    assert got.meta["params"] == names
    assert got.meta["dim"] == h.shape[0]
    with pytest.raises(KeyError, match="'nope'"):
        sp.hessian_eigenpairs(model, batches, params=["nope"])


def test_weights_argument_moves_the_point(batches: Batches) -> None:
    model, other = make_mlp(batchnorm=False, seed=0), make_mlp(batchnorm=False, seed=3)
    exact = torch.linalg.eigvalsh(dense_hessian(other, batches)).max().item()
    flat = sp.WeightSpace.of(model).params_vector(other)
    for weights in (other, other.state_dict(), flat):
        got = sp.hessian_eigenpairs(model, batches, weights=weights)
        assert got.values[0] == pytest.approx(exact, rel=1e-6)


class _Scaled(nn.Module):
    """A linear classifier whose logits are multiplied by a floating (non-BN) buffer."""

    def __init__(self, scale: float) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.lin = nn.Linear(4, 3).double()
        self.register_buffer("scale", torch.tensor(scale, dtype=torch.float64))

    def forward(self, x: Tensor) -> Tensor:
        return self.lin(x) * self.scale


@pytest.mark.parametrize("as_state_dict", [False, True])
def test_weight_sets_bring_their_own_floating_buffers(
    batches: Batches, as_state_dict: bool
) -> None:
    """Curvature at a weight set uses its non-BN floating buffers, as the Evaluator does."""
    template, other = _Scaled(1.0), _Scaled(3.0)
    weights = other.state_dict() if as_state_dict else other
    got = sp.hessian_eigenpairs(template, batches, weights=weights).values[0]
    want = sp.hessian_eigenpairs(other, batches).values[0]
    assert got == pytest.approx(want, rel=1e-10)
    obj = Objective(template, batches)
    obj.at(weights)
    assert obj.loss() == pytest.approx(Objective(other, batches).loss(), rel=1e-12)


def test_recompute_statistics_match_the_evaluator(batches: Batches) -> None:
    """Objective and Evaluator re-estimate BN statistics through one mechanism
    (``_batchnorm.recalibrate``): the same calibration batches give the same loss at a moved point,
    and moving back restores the first value (no statistics carried over)."""
    model = make_mlp(batchnorm=True)
    g = torch.Generator().manual_seed(5)
    calib = [(torch.randn(6, 4, generator=g, dtype=torch.float64) + 2.0, torch.zeros(6))]
    obj = Objective(model, batches, bn="recompute", calibration=calib)
    ev = sp.Evaluator(model, batches, bn="recompute", calibration=calib)
    start = obj.at(model).clone()
    point = start + 0.1 * torch.randn(start.shape, generator=g, dtype=torch.float64)
    for theta in (point, start):
        obj.at(theta)
        assert obj.loss() == pytest.approx(float(ev.evaluate(theta)["loss"][0]), rel=1e-12)


def test_recompute_and_batch_policies_are_recorded(batches: Batches) -> None:
    model = make_mlp(batchnorm=True).train()
    before = copy.deepcopy(model.state_dict())
    for bn in ("recompute", "batch"):
        obj = Objective(model, batches, bn=bn)
        assert obj.meta()["bn"] == bn
        assert np.isfinite(obj.loss())
        assert np.isfinite(sp.hessian_eigenpairs(model, batches, bn=bn).values[0])
    assert model.training
    for key, value in model.state_dict().items():  # running statistics untouched too
        assert torch.equal(value, before[key]), key
    with pytest.raises(ValueError, match="bn must be one of"):
        Objective(model, batches, bn="interpolate")


def test_quadratic_known_spectrum() -> None:
    eigs = torch.tensor([5.0, 3.0, 2.0, 1.0, 0.5, -0.25], dtype=torch.float64)
    a = spd(eigs)
    like = torch.zeros(6, dtype=torch.float64)
    top = top_eigenpairs(lambda vs: vs @ a, like, k=2)
    np.testing.assert_allclose(top.values, [5.0, 3.0], rtol=1e-10)
    assert hutchpp(lambda vs: vs @ a, like, 18).value == pytest.approx(eigs.sum().item(), rel=1e-10)
    density = lanczos_quadrature(lambda vs: vs @ a, like, steps=6, starts=3)
    np.testing.assert_allclose(np.sort(density.nodes[0]), np.sort(eigs.numpy()), atol=1e-8)


@pytest.mark.parametrize(("low", "high"), [(-1.0, 4.0), (-4.0, 1.0)])
def test_trace_interval_covers_exact_trace(low: float, high: float) -> None:
    """The reported 95 % interval covers tr(A) in at least 45 of 50 seeded repeats, for a
    positive and a negative trace (PyHessian's relative rule stops early on a negative one)."""
    eigs = torch.linspace(low, high, 40, dtype=torch.float64)
    a = spd(eigs, seed=2)
    exact = eigs.sum().item()
    like = torch.zeros(40, dtype=torch.float64)
    hits = 0
    for seed in range(50):
        est = hutchinson(lambda vs: vs @ a, like, rtol=0.05, min_samples=20, seed=seed)
        hits += est.low <= exact <= est.high
    assert hits >= 45


@pytest.mark.parametrize("batchnorm", [False, True])
def test_hessian_trace_on_model(batchnorm: bool, batches: Batches) -> None:
    model = make_mlp(batchnorm=batchnorm)
    exact = torch.trace(dense_hessian(model, batches)).item()
    est = sp.hessian_trace(model, batches, rtol=0.2, max_samples=200)
    assert est.low <= exact <= est.high
    assert est.num_hvps == est.num_samples
    pp = sp.hessian_trace(model, batches, method="hutch++", num_hvps=3 * 70)
    assert pp.value == pytest.approx(exact, rel=1e-6)  # 70 > dim: Q spans everything


def test_slq_moments_match_traces(batches: Batches) -> None:
    model = make_mlp(batchnorm=False)
    h = dense_hessian(model, batches)
    n = h.shape[0]
    density = sp.hessian_density(model, batches, steps=12, starts=30)
    for k, exact in ((1, torch.trace(h) / n), (2, torch.trace(h @ h) / n)):
        value, err = density.moment(k)
        assert abs(value - exact.item()) <= 4 * err, (k, value, exact, err)
    np.testing.assert_allclose(density.weights.sum(axis=1), 1.0, atol=1e-10)
    grid = np.linspace(density.nodes.min() - 1, density.nodes.max() + 1, 2001)
    assert np.trapezoid(density.density(grid), grid) == pytest.approx(1.0, abs=1e-2)


def test_curvature_along_points(batches: Batches) -> None:
    a, b = make_mlp(batchnorm=False, seed=0), make_mlp(batchnorm=False, seed=1)
    space = sp.WeightSpace.of(a)
    ends = torch.stack([space.params_vector(a), space.params_vector(b)])
    along = sp.curvature_along(a, ends, batches, rtol=0.2, max_samples=100)
    for i, net in enumerate((a, b)):
        exact = torch.linalg.eigvalsh(dense_hessian(net, batches)).max().item()
        assert along.top_eigenvalue[i] == pytest.approx(exact, rel=1e-6)
    assert along.trace.shape == (2,)
    assert np.all(along.trace_low <= along.trace_high)
    with pytest.raises(TypeError, match="unexpected keyword"):
        sp.curvature_along(a, ends, batches, chunk_size=3)  # type: ignore[call-arg]


def test_cached_graph_gives_the_same_products(batches: Batches) -> None:
    model, other = make_mlp(batchnorm=True, seed=0), make_mlp(batchnorm=True, seed=5)
    v = torch.randn(sp.WeightSpace.of(model).dim, dtype=torch.float64)
    block = torch.randn(4, len(v), dtype=torch.float64)
    cached = Objective(model, batches, cache_graph=True)
    plain = Objective(model, batches, cache_graph=False)
    assert not plain.cache_graph
    assert Objective(model, batches[:1]).cache_graph  # one batch: cached by default
    for weights in (model, other):  # moving the point drops the cached graph
        cached.at(weights)
        plain.at(weights)
        torch.testing.assert_close(cached.hvp(v), plain.hvp(v), rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(cached.hvp(2 * v), 2 * plain.hvp(v), rtol=1e-12, atol=1e-12)
        rows = torch.stack([plain.hvp(b) for b in block])
        torch.testing.assert_close(cached.hvps(block), rows, rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(plain.hvps(block), rows, rtol=1e-10, atol=1e-12)


def test_frozen_statistics_follow_the_weight_set(batches: Batches) -> None:
    """bn='frozen': a module or state_dict brings its own running statistics; a flat θ gets the
    template's, whatever was loaded before."""
    model, other = make_mlp(batchnorm=True, seed=0), make_mlp(batchnorm=True, seed=5)
    with torch.no_grad():
        other[1].running_mean.add_(1.0)
    obj = Objective(model, batches)
    theta = sp.WeightSpace.of(model).params_vector(model)
    base = obj.loss(obj.at(theta))
    assert obj.loss(obj.at(other.state_dict())) != base
    assert obj.loss(obj.at(theta)) == base


class Point(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(dim, dtype=torch.float64))

    def forward(self, x: Tensor) -> Tensor:
        return self.w.expand(len(x), -1)


def test_quadratic_model_has_the_known_spectrum() -> None:
    """L(w) = ½ (w − w*)ᵀ A (w − w*) through the model API: H = A exactly."""
    eigs = torch.tensor([3.0, 2.0, 1.0, 0.5, 0.1], dtype=torch.float64)
    a, w_star = spd(eigs, seed=4), torch.ones(5, dtype=torch.float64)

    def loss_fn(out: Tensor, _: Tensor) -> Tensor:
        d = out - w_star
        return 0.5 * ((d @ a) * d).sum(dim=1)

    model, data = Point(5), (torch.zeros(6, 1), torch.zeros(6))
    model.train()
    top = sp.hessian_eigenpairs(model, data, k=3, loss_fn=loss_fn)
    np.testing.assert_allclose(top.values, [3.0, 2.0, 1.0], rtol=1e-10)
    pp = sp.hessian_trace(model, data, method="hutch++", num_hvps=15, loss_fn=loss_fn)
    assert pp.value == pytest.approx(eigs.sum().item(), rel=1e-10)
    density = sp.hessian_density(model, data, steps=5, starts=2, loss_fn=loss_fn)
    np.testing.assert_allclose(np.sort(density.nodes[0]), np.sort(eigs.numpy()), atol=1e-8)
    assert model.training
    assert model.w.requires_grad
    assert torch.equal(model.w, torch.zeros(5, dtype=torch.float64))


def test_slq_with_a_closing_krylov_space() -> None:
    """Two distinct eigenvalues: every Krylov space closes after 2 steps; the padded quadrature
    keeps unit mass and its nodes are the eigenvalues, and vᵀHv is reproduced exactly."""
    a = spd(torch.tensor([2.0, 2.0, 2.0, 1.0, 1.0, 1.0], dtype=torch.float64), seed=1)
    like = torch.zeros(6, dtype=torch.float64)
    density = lanczos_quadrature(lambda vs: vs @ a, like, steps=5, starts=4, seed=3)
    assert density.num_hvps == 4 * 2
    np.testing.assert_allclose(density.weights.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(np.sort(density.nodes[:, :2], axis=1), [[1.0, 2.0]] * 4, atol=1e-10)
    np.testing.assert_allclose(density.nodes[:, 2:], 2.0, atol=1e-10)  # padding at the last node


def test_model_trace_interval_coverage(batches: Batches) -> None:
    """On a float64 model: the 95 % interval covers the dense tr(H) in ≥ 45 of 50 seeds."""
    model = make_mlp(batchnorm=False)
    exact = torch.trace(dense_hessian(model, batches)).item()
    obj = Objective(model, batches)
    hits = sum(
        est.low <= exact <= est.high
        for est in (
            hutchinson(obj.hvps, obj.point, rtol=0.2, min_samples=20, seed=seed)
            for seed in range(50)
        )
    )
    assert hits >= 45


def _nan_loss(out: Tensor, y: Tensor) -> Tensor:
    return nn.functional.cross_entropy(out, y) * float("nan")


@pytest.mark.parametrize(
    "estimate",
    [
        lambda m, d: sp.hessian_eigenpairs(m, d, k=1, loss_fn=_nan_loss),
        lambda m, d: sp.hessian_trace(m, d, max_samples=30, loss_fn=_nan_loss),
        lambda m, d: sp.hessian_density(m, d, steps=3, starts=2, loss_fn=_nan_loss),
    ],
    ids=["eigenpairs", "trace", "density"],
)
def test_non_finite_curvature_is_a_one_line_error(estimate, batches: Batches) -> None:
    model = make_mlp(batchnorm=False, seed=0)
    with pytest.raises(FloatingPointError, match="Hessian-vector product is not finite") as err:
        estimate(model, batches)
    assert "\n" not in str(err.value)


def test_curvature_along_records_a_non_finite_point_as_nan(batches: Batches) -> None:
    a = make_mlp(batchnorm=False, seed=0)
    theta = sp.WeightSpace.of(a).params_vector(a)
    points = torch.stack([theta, torch.full_like(theta, float("inf")), theta])
    along = sp.curvature_along(a, points, batches, rtol=0.2, max_samples=40)
    for values in (along.top_eigenvalue, along.trace, along.trace_low, along.trace_high):
        assert np.isnan(values[1])
        assert np.isfinite(values[[0, 2]]).all()
    assert along.top_eigenvalue[0] == along.top_eigenvalue[2]


@pytest.mark.parametrize("rtol", [-0.1, float("nan")])
def test_hutchinson_refuses_a_negative_or_nan_rtol(rtol: float, batches: Batches) -> None:
    model = make_mlp(batchnorm=False, seed=0)
    with pytest.raises(ValueError, match=r"^rtol must be"):
        sp.hessian_trace(model, batches, rtol=rtol, max_samples=30)
