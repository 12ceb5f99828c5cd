"""Kernel-PCA maps of solutions and the trajectory-PCA plane."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.decomposition import KernelPCA
from torch import nn

import surface_probe as sp

from .conftest import Batches, make_mlp


def permuted(model: nn.Module) -> nn.Module:
    """The same function with the hidden units of ``make_mlp(batchnorm=False)`` reversed."""
    out = make_mlp(batchnorm=False)
    perm = torch.arange(8).flip(0)
    state = model.state_dict()
    out.load_state_dict(
        {
            "0.weight": state["0.weight"][perm],
            "0.bias": state["0.bias"][perm],
            "3.weight": state["3.weight"][:, perm],
            "3.bias": state["3.bias"],
        }
    )
    return out


def test_weight_map_matches_sklearn_and_spreads() -> None:
    nets = [make_mlp(batchnorm=False, seed=s) for s in range(6)]
    groups = ["a", "a", "a", "b", "b", "b"]
    result = sp.solution_map(nets[0], nets, groups=groups)
    x = np.stack([sp.WeightSpace.of(n).params_vector(n).numpy() for n in nets])
    expected = KernelPCA(n_components=2, kernel="rbf", gamma=1.0 / x.shape[1]).fit_transform(x)
    np.testing.assert_allclose(np.abs(result.coordinates), np.abs(expected), atol=1e-10)
    centroid = x.mean(axis=0)
    spread_a = np.sqrt(((x[:3] - centroid) ** 2).sum(axis=1).mean())
    assert result.spread["a"] == pytest.approx(spread_a)
    assert set(result.map_spread) == {"a", "b"}
    assert result.meta["gamma"] == pytest.approx(1.0 / x.shape[1])


def test_function_space_is_blind_to_permutations() -> None:
    net = make_mlp(batchnorm=False, seed=1)
    other = make_mlp(batchnorm=False, seed=2)
    probe = torch.randn(10, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    sols = [net, permuted(net), other]
    fmap = sp.solution_map(net, sols, space="function", probe=probe)
    wmap = sp.solution_map(net, sols, space="weights")
    np.testing.assert_allclose(fmap.coordinates[0], fmap.coordinates[1], atol=1e-10)
    assert np.abs(wmap.coordinates[0] - wmap.coordinates[1]).max() > 1e-3
    with pytest.raises(ValueError, match="probe"):
        sp.solution_map(net, sols, space="function")
    with pytest.raises(ValueError, match="2 groups for 3"):
        sp.solution_map(net, sols, groups=["a", "b"])


def test_function_map_with_batchnorm_uses_each_solutions_statistics() -> None:
    nets = [make_mlp(batchnorm=True, seed=s) for s in range(3)]
    probe = torch.randn(5, 4, dtype=torch.float64)
    fmap = sp.solution_map(nets[0], nets, space="function", probe=probe)
    assert np.all(np.isfinite(fmap.coordinates))


def test_trajectory_plane_projects_a_planar_path(batches: Batches) -> None:
    model = make_mlp(batchnorm=False)
    space = sp.WeightSpace.of(model)
    center = space.params_vector(model)
    g = torch.Generator().manual_seed(0)
    u, v = torch.randn(2, space.dim, generator=g, dtype=torch.float64)
    t = torch.linspace(1.0, 0.0, 6, dtype=torch.float64)
    path = center + torch.outer(t, u) + torch.outer(t**2, v)
    result = sp.trajectory_plane(model, path, batches, resolution=5)
    coords = np.asarray(result.meta["trajectory"])
    assert sum(result.meta["explained_variance"]) == pytest.approx(1.0)
    np.testing.assert_allclose(
        np.linalg.norm(coords, axis=1), (path - center).norm(dim=1).numpy(), rtol=1e-8
    )
    np.testing.assert_allclose(coords[-1], 0.0, atol=1e-12)
    assert result.x.min() < coords[:, 0].min()
    assert result.x.max() > coords[:, 0].max()
    assert result.loss.shape == (5, 5)
    modules = [make_mlp(batchnorm=False, seed=s) for s in range(3)]
    assert sp.trajectory_plane(model, modules, batches, resolution=3).loss.shape == (3, 3)


def _nan_weights() -> nn.Module:
    net = make_mlp(batchnorm=False, seed=5)
    with torch.no_grad():
        net[0].weight.fill_(float("nan"))
    return net


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_components": 0}, "n_components must be"),
        ({"n_components": 4}, "n_components must be"),
        ({"gamma": -1.0}, "gamma must be"),
        ({"gamma": float("inf")}, "gamma must be"),
    ],
)
def test_solution_map_names_bad_numbers(kwargs: dict[str, float], match: str) -> None:
    nets = [make_mlp(batchnorm=False, seed=s) for s in range(3)]
    with pytest.raises(ValueError, match=match) as err:
        sp.solution_map(nets[0], nets, **kwargs)  # type: ignore[arg-type]
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("space", ["weights", "function"])
def test_solution_map_names_a_non_finite_solution(space: str) -> None:
    nets = [make_mlp(batchnorm=False, seed=s) for s in range(2)] + [_nan_weights()]
    probe = torch.randn(5, 4, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"solutions\[2\] is not finite") as err:
        sp.solution_map(nets[0], nets, space=space, probe=probe)
    assert "\n" not in str(err.value)


def test_trajectory_plane_refuses_a_still_trajectory_and_a_negative_margin(
    batches: Batches,
) -> None:
    net = make_mlp(batchnorm=False)
    theta = sp.WeightSpace.of(net).params_vector(net)
    with pytest.raises(ValueError, match="trajectory does not move"):
        sp.trajectory_plane(net, torch.stack([theta] * 3), batches, resolution=3)
    moving = torch.stack([theta, theta + 1.0, theta - 0.5])
    with pytest.raises(ValueError, match="margin must be"):
        sp.trajectory_plane(net, moving, batches, resolution=3, margin=-0.1)


def test_trajectory_plane_and_line_run_on_a_bfloat16_model(batches: Batches) -> None:
    model = make_mlp(batchnorm=False).bfloat16()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    space = sp.WeightSpace.of(model)
    center = space.params_vector(model)
    g = torch.Generator().manual_seed(0)
    u, v = 0.1 * torch.randn(2, space.dim, generator=g, dtype=torch.float64)
    t = torch.linspace(1.0, 0.0, 6, dtype=torch.float64)
    path = (center.double() + torch.outer(t, u) + torch.outer(t**2, v)).bfloat16()
    path[-1] = center
    result = sp.trajectory_plane(model, path, batches, resolution=3, progress=False)
    coords = np.asarray(result.meta["trajectory"])
    distances = (path.double() - center.double()).norm(dim=1)  # to within bf16 rounding (2^-8)
    np.testing.assert_allclose(np.linalg.norm(coords, axis=1), distances, rtol=4e-3)
    np.testing.assert_allclose(coords[-1], 0.0, atol=1e-12)
    assert result.meta["dtype"] == "bfloat16"
    assert np.isfinite(result.loss).all()
    as_dicts = [space.params_dict(p) for p in path]
    again = sp.trajectory_plane(model, as_dicts, batches, resolution=3, progress=False)
    np.testing.assert_array_equal(again.loss, result.loss)
    bf16_data = [(x.bfloat16(), y) for x, y in batches]
    line = sp.line(model, as_dicts[0], model, batches, steps=3, progress=False)
    same = sp.line(model, as_dicts[0], model, bf16_data, steps=3, progress=False)
    np.testing.assert_array_equal(line.loss, same.loss)
    assert np.isfinite(line.loss).all()
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key
