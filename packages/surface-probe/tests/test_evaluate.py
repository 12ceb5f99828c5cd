"""Evaluator: exact values, example weighting, BN policies against brute force, model safety."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from surface_probe.evaluate import Evaluator, accuracy, cross_entropy

from .conftest import Batches, make_mlp, split

POLICIES = ["recompute", "interpolate", "frozen", "batch"]


def perturbed_points(ev: Evaluator, model: nn.Module, n: int, seed: int = 0) -> Tensor:
    g = torch.Generator().manual_seed(seed)
    theta = ev.space.params_vector(model)
    return theta + 0.5 * torch.randn(n, ev.space.dim, generator=g, dtype=theta.dtype)


def brute_force_loss(
    model: nn.Module, point: Tensor, buffers: Tensor | None, policy: str, batches: Batches
) -> float:
    """Load θ into a deep copy and run the BN policy by hand (the reference)."""
    m = copy.deepcopy(model)
    torch.nn.utils.vector_to_parameters(point, m.parameters())
    bns = [mod for mod in m.modules() if isinstance(mod, nn.BatchNorm1d)]
    m.eval()
    with torch.no_grad():
        if policy == "interpolate":
            assert buffers is not None
            m.state_dict()["1.running_mean"].copy_(buffers[:8])
            m.state_dict()["1.running_var"].copy_(buffers[8:])
        elif policy == "recompute":
            for bn in bns:
                bn.reset_running_stats()
                bn.momentum = None
                bn.train()
            for x, _ in batches:
                m(x)
            m.eval()
        elif policy == "batch":
            for bn in bns:
                bn.train()
                bn.track_running_stats = False
        total = sum(F.cross_entropy(m(x), y, reduction="sum") for x, y in batches)
    n = sum(len(y) for _, y in batches)
    return float(total / n)


def snapshot(model: nn.Module) -> dict[str, Any]:
    return {
        "state": {k: v.clone() for k, v in model.state_dict().items()},
        "grad": {n: p.requires_grad for n, p in model.named_parameters()},
        "training": [m.training for m in model.modules()],
        "hooks": [
            (dict(m._forward_hooks), dict(m._forward_pre_hooks), dict(m._backward_hooks))
            for m in model.modules()
        ],
        "momentum": [getattr(m, "momentum", None) for m in model.modules()],
        "track": [getattr(m, "track_running_stats", None) for m in model.modules()],
        "ids": [id(p) for p in model.parameters()],
    }


def assert_untouched(model: nn.Module, before: dict[str, Any]) -> None:
    after = snapshot(model)
    assert after["state"].keys() == before["state"].keys()
    for k, v in before["state"].items():
        assert after["state"][k].dtype == v.dtype
        assert torch.equal(after["state"][k], v), k  # bitwise (no nan in these states)
    for key in ("grad", "training", "hooks", "momentum", "track", "ids"):
        assert after[key] == before[key], key


def test_linear_least_squares_equals_closed_form() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(37, 5, generator=g, dtype=torch.float64)
    y = torch.randn(37, 1, generator=g, dtype=torch.float64)
    model = nn.Linear(5, 1).double()
    ev = Evaluator(model, split(x, y, [16, 16, 5]), loss_fn=F.mse_loss)
    points = perturbed_points(ev, model, 6)
    got = ev.evaluate(points)["loss"]
    w, b = points[:, :5], points[:, 5]
    expected = ((x @ w.T + b - y) ** 2).mean(dim=0).numpy()  # L(w, b) = mean_i (x_i·w + b - y_i)²
    assert got.dtype == np.float64
    assert got.shape == (6,)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0)


def test_uneven_batches_are_example_weighted(batches: Batches) -> None:
    model = make_mlp(batchnorm=False)
    x = torch.cat([b[0] for b in batches])
    y = torch.cat([b[1] for b in batches])

    def mean_logit(out: Tensor, tgt: Tensor) -> Tensor:
        return out.mean(dim=1)  # per-example values: averaged by the evaluator

    ev = Evaluator(model, batches, metrics={"acc": accuracy, "mean_logit": mean_logit})
    whole = Evaluator(model, (x, y), metrics=["accuracy"])
    point = ev.space.params_vector(model)
    res = ev.evaluate(point.unsqueeze(0))
    with torch.no_grad():
        out = model.eval()(x)
    np.testing.assert_allclose(res["loss"], [F.cross_entropy(out, y).item()], rtol=1e-12)
    np.testing.assert_allclose(res["acc"], [(out.argmax(1) == y).double().mean().item()])
    np.testing.assert_allclose(res["mean_logit"], [out.mean().item()], rtol=1e-12)
    np.testing.assert_allclose(whole.evaluate(point)["loss"], res["loss"], rtol=1e-12)
    assert ev.metric_names == ("loss", "acc", "mean_logit")
    assert whole.metric_names == ("loss", "accuracy")


@pytest.mark.parametrize("policy", POLICIES)
def test_bn_policy_matches_brute_force(policy: str, batches: Batches) -> None:
    model = make_mlp(batchnorm=True, dropout=0.5)
    ev = Evaluator(model, batches, bn=policy)
    points = perturbed_points(ev, model, 3)
    buffers = None
    if policy == "interpolate":
        g = torch.Generator().manual_seed(3)
        buffers = ev.space.buffers_vector(model) + 0.1 * torch.rand(
            3, ev.space.buffer_dim, generator=g, dtype=torch.float64
        )
    got = ev.evaluate(points, buffers)["loss"]
    expected = [
        brute_force_loss(model, p, None if buffers is None else buffers[i], policy, batches)
        for i, p in enumerate(points)
    ]
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert ev.meta()["bn"] == policy


def test_recompute_uses_calibration_batches(batches: Batches) -> None:
    model = make_mlp(batchnorm=True)
    g = torch.Generator().manual_seed(5)
    calib = [(torch.randn(6, 4, generator=g, dtype=torch.float64) + 2.0, torch.zeros(6))]
    ev = Evaluator(model, batches, bn="recompute", calibration=calib)
    point = perturbed_points(ev, model, 1)[0]
    m = copy.deepcopy(model)
    torch.nn.utils.vector_to_parameters(point, m.parameters())
    m[1].reset_running_stats()
    m[1].momentum = None
    m.train()
    with torch.no_grad():
        m(calib[0][0])
        m.eval()
        expected = sum(F.cross_entropy(m(x), y, reduction="sum") for x, y in batches) / 23
    np.testing.assert_allclose(ev.evaluate(point)["loss"], [float(expected)], rtol=1e-12)
    assert ev.meta()["calibration_batches"] == 1


def test_auto_policy_resolves(batches: Batches) -> None:
    assert Evaluator(make_mlp(batchnorm=True), batches).bn == "recompute"
    assert Evaluator(make_mlp(batchnorm=False), batches).bn == "none"


@pytest.mark.parametrize("policy", ["recompute", "interpolate", "frozen", "batch"])
def test_model_untouched_bitwise(policy: str, batches: Batches) -> None:
    model = make_mlp(batchnorm=True, dropout=0.5)
    model.train()
    model[0].weight.requires_grad_(False)
    model[4].register_forward_hook(lambda mod, inp, out: None)
    before = snapshot(model)
    ev = Evaluator(model, batches, bn=policy)
    points = perturbed_points(ev, model, 2)
    buffers = ev.space.buffers_vector(model).expand(2, -1) if policy == "interpolate" else None
    ev.evaluate(points, buffers)
    ev.outputs(points[0], None if buffers is None else buffers[0])
    assert_untouched(model, before)


def test_model_untouched_and_evaluator_usable_after_exception_midway(batches: Batches) -> None:
    model = make_mlp(batchnorm=True)
    before = snapshot(model)
    calls = {"n": 0}

    def flaky(out: Tensor, tgt: Tensor) -> Tensor:
        calls["n"] += 1
        if calls["n"] == 5:
            raise RuntimeError("boom")
        return F.cross_entropy(out, tgt)

    ev = Evaluator(model, batches, loss_fn=flaky, bn="recompute")
    points = perturbed_points(ev, model, 3)
    with pytest.raises(RuntimeError, match="boom"):
        ev.evaluate(points)
    assert_untouched(model, before)
    got = ev.evaluate(points)["loss"]  # the private copy recovers: same numbers as brute force
    expected = [brute_force_loss(model, p, None, "recompute", batches) for p in points]
    np.testing.assert_allclose(got, expected, rtol=1e-12)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_point_does_not_poison_others(bad: float, batches: Batches) -> None:
    model = make_mlp(batchnorm=True)
    ev = Evaluator(model, batches, bn="recompute", metrics=["accuracy"])
    points = perturbed_points(ev, model, 3)
    alone = ev.evaluate(points)
    points[1, 0] = bad
    mixed = ev.evaluate(points)
    assert not np.isfinite(mixed["loss"][1])
    for i in (0, 2):
        assert mixed["loss"][i] == alone["loss"][i]  # bitwise
        assert mixed["accuracy"][i] == alone["accuracy"][i]


def test_outputs_over_all_data(batches: Batches) -> None:
    model = make_mlp(batchnorm=True)
    ev = Evaluator(model, batches, bn="frozen")
    x = torch.cat([b[0] for b in batches])
    out = ev.outputs(ev.space.params_vector(model))
    with torch.no_grad():
        expected = copy.deepcopy(model).eval()(x)
    assert out.shape == (23, 3)
    assert torch.equal(out, expected)


def test_sequence_outputs_default_cross_entropy() -> None:
    g = torch.Generator().manual_seed(0)
    tokens = torch.randint(0, 7, (5, 6), generator=g)
    targets = torch.randint(0, 7, (5, 6), generator=g)
    model = nn.Embedding(7, 7).double()
    ev = Evaluator(model, (tokens, targets), metrics=["accuracy"])
    logits = model.weight.detach()[tokens]
    expected = F.cross_entropy(logits.reshape(-1, 7), targets.reshape(-1))
    res = ev.evaluate(ev.space.params_vector(model))
    np.testing.assert_allclose(res["loss"], [expected.item()], rtol=1e-12)
    acc = (logits.argmax(-1) == targets).double().mean().item()
    np.testing.assert_allclose(res["accuracy"], [acc])


def test_data_iterated_once_and_meta() -> None:
    model = make_mlp(batchnorm=False)
    g = torch.Generator().manual_seed(0)
    items = [
        (torch.randn(4, 4, generator=g).double(), torch.tensor([0, 1, 2, 0])) for _ in range(3)
    ]
    ev = Evaluator(model, iter(items))  # a one-shot iterator is enough
    res = ev.evaluate(torch.stack([ev.space.params_vector(model)] * 2))
    assert res["loss"][0] == res["loss"][1]
    meta = ev.meta()
    assert meta["num_examples"] == 12
    assert meta["num_batches"] == 3
    assert meta["precision"] == "fp32"
    assert meta["bn"] == "none"
    assert meta["device"] == "cpu"
    assert isinstance(meta["version"], str)
    assert meta["version"]


def test_bf16_close_to_fp32() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 5))
    x, y = torch.randn(256, 16), torch.randint(0, 5, (256,))
    fp32 = Evaluator(model, (x, y))
    bf16 = Evaluator(model, (x, y), precision="bf16")
    points = perturbed_points(fp32, model, 4)
    a, b = fp32.evaluate(points)["loss"], bf16.evaluate(points)["loss"]
    rel = np.abs(a - b) / np.abs(a)
    assert rel.max() < 1e-2  # bf16 keeps 8 significand bits; measured here ≈ 1e-3
    assert bf16.meta()["precision"] == "bf16"


BadCase = tuple[Callable[[], Any], type[Exception], str]


def bad_cases() -> list[BadCase]:
    bn = make_mlp(batchnorm=True)
    plain = make_mlp(batchnorm=False)
    x, y = torch.randn(4, 4).double(), torch.tensor([0, 1, 2, 0])
    return [
        (lambda: Evaluator(plain, []), ValueError, "data is empty"),
        (lambda: Evaluator(plain, [(x[:0], y[:0])]), ValueError, "data is empty"),
        (lambda: Evaluator(plain, [x]), ValueError, "batch 0 must be an"),
        (lambda: Evaluator(bn, (x, y), bn="none"), ValueError, "bn='none'"),
        (lambda: Evaluator(plain, (x, y), bn="recompute"), ValueError, "needs BatchNorm"),
        (lambda: Evaluator(plain, (x, y), bn="bogus"), ValueError, "bn must be one of"),
        (lambda: Evaluator(plain, (x, y), precision="fp8"), ValueError, "precision"),
        (lambda: Evaluator(plain, (x, y), metrics=["f1"]), ValueError, "unknown metric 'f1'"),
        (lambda: Evaluator(plain, (x, y), metrics={"loss": accuracy}), ValueError, "reserved"),
        (lambda: Evaluator(bn, (x, y), bn="frozen", calibration=(x, y)), ValueError, "calib"),
        (
            lambda: Evaluator(bn, (x, y), bn="interpolate").evaluate(flat_params(bn)),
            ValueError,
            "needs buffers",
        ),
        (lambda: Evaluator(plain, (x, y)).evaluate(torch.zeros(2, 5)), ValueError, r"\(P, 67\)"),
        (
            lambda: Evaluator(bn, (x, y), bn="frozen").evaluate(
                flat_params(bn), torch.zeros(1, 15)
            ),
            ValueError,
            r"buffers must have shape \(P, 16\)",
        ),
    ]


def flat_params(model: nn.Module) -> Tensor:
    return torch.nn.utils.parameters_to_vector(model.parameters()).detach()


@pytest.mark.parametrize("case", range(len(bad_cases())))
def test_bad_input_clear_errors(case: int) -> None:
    fn, exc, match = bad_cases()[case]
    with pytest.raises(exc, match=match):
        fn()


def test_default_cross_entropy_matches_torch_including_fallbacks() -> None:
    g = torch.Generator().manual_seed(0)
    out = torch.randn(9, 4, generator=g, dtype=torch.float64)
    idx = torch.randint(0, 4, (9,), generator=g)
    np.testing.assert_allclose(cross_entropy(out, idx), F.cross_entropy(out, idx), rtol=1e-14)
    ignored = idx.clone()
    ignored[[1, 4]] = -100  # F.cross_entropy's ignore_index
    np.testing.assert_allclose(cross_entropy(out, ignored), F.cross_entropy(out, ignored))
    probs = torch.softmax(torch.randn(9, 4, generator=g, dtype=torch.float64), dim=1)
    np.testing.assert_allclose(cross_entropy(out, probs), F.cross_entropy(out, probs))
