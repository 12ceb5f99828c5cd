"""Probes: analytic answers, brute force per BN policy, bad input, non-finite values."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, cast

import numpy as np
import pytest
import torch
from torch import Tensor, nn

import surface_probe as sp


def _lsq(seed: int = 0) -> tuple[nn.Linear, list[dict[str, Tensor]], tuple[Tensor, Tensor]]:
    torch.manual_seed(seed)
    model = nn.Linear(3, 1).double()
    sets = [{k: torch.randn_like(v) for k, v in model.state_dict().items()} for _ in range(4)]
    x, y = torch.randn(50, 3, dtype=torch.float64), torch.randn(50, 1, dtype=torch.float64)
    return model, sets, (x, y)


def _mse(out: Tensor, tgt: Tensor) -> Tensor:
    return ((out - tgt) ** 2).mean()


def _residual(w: dict[str, Tensor], x: Tensor, y: Tensor) -> Tensor:
    return x @ w["weight"].T + w["bias"] - y


def test_line_least_squares_polynomial() -> None:
    model, (a, b, *_), (x, y) = _lsq()
    alphas = np.linspace(-1.0, 2.0, 13)
    res = sp.line(model, a, b, (x, y), alphas=alphas, loss_fn=_mse, progress=False)
    ra, rb = _residual(a, x, y), _residual(b, x, y)
    qa, qab, qb = (float((u * v).mean()) for u, v in ((ra, ra), (ra, rb), (rb, rb)))
    expect = (1 - alphas) ** 2 * qa + 2 * alphas * (1 - alphas) * qab + alphas**2 * qb
    np.testing.assert_allclose(res.loss, expect, rtol=1e-9, atol=1e-12)
    dist = sum(float(((b[k] - a[k]) ** 2).sum()) for k in a) ** 0.5
    assert res.meta["distance"] == pytest.approx(dist, rel=1e-12)
    assert res.meta["bn"] == "none"
    assert res.meta["num_examples"] == 50


def test_plane_least_squares_polynomial_non_square() -> None:
    model, (c, d1, d2, _), (x, y) = _lsq(1)
    res = sp.plane(
        model,
        c,
        (x, y),
        directions=[d1, d2],
        span=(-1, 2, -0.5, 0.5),
        resolution=(5, 3),
        loss_fn=_mse,
        progress=False,
    )
    assert res.loss.shape == (3, 5)
    r0 = _residual(c, x, y)
    r1, r2 = x @ d1["weight"].T + d1["bias"], x @ d2["weight"].T + d2["bias"]
    for j, yy in enumerate(res.y):
        for i, xx in enumerate(res.x):
            expect = float(((r0 + xx * r1 + yy * r2) ** 2).mean())
            assert res.loss[j, i] == pytest.approx(expect, rel=1e-9)
    np.testing.assert_array_equal(res.x, np.linspace(-1, 2, 5))


def test_bilinear_and_barycentric_least_squares() -> None:
    model, sets, (x, y) = _lsq(2)
    r = [_residual(s, x, y) for s in sets]
    bil = sp.bilinear(model, sets, (x, y), resolution=(4, 3), loss_fn=_mse, progress=False)
    for j, be in enumerate(bil.y):
        for i, al in enumerate(bil.x):
            rr = be * (al * r[0] + (1 - al) * r[1]) + (1 - be) * (al * r[2] + (1 - al) * r[3])
            assert bil.loss[j, i] == pytest.approx(float((rr**2).mean()), rel=1e-9)
    bar = sp.barycentric(model, sets[:3], (x, y), resolution=(3, 4), loss_fn=_mse, progress=False)
    for j, be in enumerate(bar.y):
        for i, al in enumerate(bar.x):
            rr = r[0] + al * (be * (r[1] - r[0]) + (1 - be) * (r[2] - r[0]))
            assert bar.loss[j, i] == pytest.approx(float((rr**2).mean()), rel=1e-9)
    assert bar.meta["kind"] == "barycentric"
    assert bil.meta["kind"] == "bilinear"


class _Bowl(nn.Module):
    """L(w) = ½ Σ λ_k w_k² as the output for every input."""

    def __init__(self, lam: Tensor) -> None:
        super().__init__()
        self.register_buffer("lam", lam, persistent=False)
        self.w = nn.Parameter(torch.zeros_like(lam))

    def forward(self, x: Tensor) -> Tensor:
        lam = cast(Tensor, self.lam)
        return (0.5 * (lam * self.w**2).sum()).expand(x.shape[0])


def test_basin_radius_quadratic_bowl() -> None:
    lam = torch.tensor([4.0, 1.0, 0.25], dtype=torch.float64)
    bowl = _Bowl(lam).double()
    data = (torch.zeros(4, 1, dtype=torch.float64), torch.zeros(4, dtype=torch.float64))
    mean_loss: Callable[[Tensor, Tensor], Tensor] = lambda o, t: o.mean()  # noqa: E731
    for k in range(3):
        e = torch.zeros(3, dtype=torch.float64)
        e[k] = 1.0
        res = sp.basin(
            bowl,
            bowl,
            data,
            direction={"w": e},
            threshold=0.5,
            max_distance=3.0,
            steps=31,
            tol=1e-10,
            loss_fn=mean_loss,
            progress=False,
        )
        expect = (2 * 0.5 / float(lam[k])) ** 0.5
        if expect < 3.0:
            assert res.radius[0] == pytest.approx(expect, abs=1e-9)
            assert res.meta["censored"] == [False]
        else:
            assert res.radius[0] == 3.0
            assert res.meta["censored"] == [True]
        np.testing.assert_allclose(res.loss[0], 0.5 * float(lam[k]) * res.distances**2, rtol=1e-12)
        assert res.center_loss == 0.0


def test_basin_random_directions_have_unit_length() -> None:
    lam = torch.tensor([2.0, 2.0, 2.0], dtype=torch.float64)
    bowl = _Bowl(lam).double()
    data = (torch.zeros(2, 1, dtype=torch.float64), torch.zeros(2, dtype=torch.float64))
    res = sp.basin(
        bowl,
        {"w": torch.ones(3, dtype=torch.float64)},
        data,
        direction="random",
        n=3,
        seed=0,
        threshold=1.0,
        max_distance=10.0,
        normalization=None,
        ignore=None,
        loss_fn=lambda o, t: o.mean(),
        progress=False,
    )
    assert res.radius.shape == (3,)
    assert res.loss.shape == (3, 41)
    assert res.meta["seed"] == 0
    assert res.meta["normalization"] is None
    assert np.all(res.radius > 0)
    assert np.all(res.radius < 10.0)


def _mlp(seed: int) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3)).double()


def test_functional_distance_permuted_twin_is_zero() -> None:
    net = _mlp(0)
    twin = copy.deepcopy(net)
    perm = torch.randperm(6, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        l1, l2 = cast(nn.Linear, net[0]), cast(nn.Linear, net[2])
        t1, t2 = cast(nn.Linear, twin[0]), cast(nn.Linear, twin[2])
        t1.weight.copy_(l1.weight[perm])
        t1.bias.copy_(l1.bias[perm])
        t2.weight.copy_(l2.weight[:, perm])
    x = torch.randn(30, 4, dtype=torch.float64)
    data = (x, torch.randint(0, 3, (30,)))
    fd = sp.functional_distance(net, net, twin, data)
    assert fd.rms == pytest.approx(0.0, abs=1e-12)
    assert fd.disagreement == 0.0
    pa = torch.cat([p.detach().reshape(-1) for p in net.parameters()])
    pb = torch.cat([p.detach().reshape(-1) for p in twin.parameters()])
    assert float((pa - pb).norm()) > 0.1
    other = _mlp(1)
    fd2 = sp.functional_distance(net, net, other, data, output="logits")
    with torch.no_grad():
        fa, fb = net(x), other(x)
    assert fd2.rms == pytest.approx(float(((fa - fb) ** 2).sum(1).mean().sqrt()), rel=1e-9)
    dis = float((fa.argmax(1) != fb.argmax(1)).double().mean())
    assert fd2.disagreement == pytest.approx(dis)
    line = sp.functional_distance_line(
        net, net, other, data, steps=5, output="logits", progress=False
    )
    assert line.metrics["rms"][0] == 0.0
    assert line.metrics["rms"][-1] == pytest.approx(fd2.rms, rel=1e-9)
    assert line.metrics["disagreement"][-1] == pytest.approx(dis)


class _BNNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(3, 5)
        self.bn = nn.BatchNorm1d(5)
        self.fc2 = nn.Linear(5, 2)

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.fc2(torch.relu(self.bn(self.fc1(x))))
        return out


def _bn_nets() -> list[_BNNet]:
    nets = []
    data = torch.randn(32, 3, dtype=torch.float64)
    for s in range(4):
        torch.manual_seed(10 + s)
        net = _BNNet().double()
        net.train()
        for _ in range(2):
            net(data * (s + 1))  # distinct running statistics per net
        nets.append(net)
    return nets


def _brute(
    template: nn.Module,
    state: dict[str, Tensor],
    bufs: dict[str, Tensor],
    policy: str,
    batches: list[tuple[Tensor, Tensor]],
) -> float:
    """A plain loop: load the point into a deep copy and evaluate it under the BN policy."""
    m = copy.deepcopy(template)
    m.load_state_dict({**m.state_dict(), **state, **bufs})
    m.eval()
    bn = cast(nn.BatchNorm1d, m.bn)
    if policy == "recompute":
        bn.reset_running_stats()
        bn.momentum = None
        bn.train()
        with torch.no_grad():
            for xb, _ in batches:
                m(xb)
        bn.eval()
    elif policy == "batch":
        bn.train()
        bn.track_running_stats = False
    total, n = 0.0, 0
    with torch.no_grad():
        for xb, yb in batches:
            total += float(nn.functional.cross_entropy(m(xb), yb)) * len(yb)
            n += len(yb)
    return total / n


def _params(net: nn.Module) -> dict[str, Tensor]:
    return {k: v.detach().clone() for k, v in net.named_parameters()}


def _buffers(net: nn.Module) -> dict[str, Tensor]:
    return {k: v.detach().clone() for k, v in net.named_buffers() if v.is_floating_point()}


def _mix(sets: list[dict[str, Tensor]], coeffs: list[float]) -> dict[str, Tensor]:
    return {k: sum(c * s[k] for c, s in zip(coeffs, sets, strict=True)) for k in sets[0]}  # type: ignore[misc]


@pytest.mark.parametrize("policy", ["recompute", "interpolate", "frozen", "batch"])
def test_brute_force_bn_policies(policy: str) -> None:
    nets = _bn_nets()
    template = nets[0]
    gen = torch.Generator().manual_seed(5)
    batches = [
        (
            torch.randn(8, 3, generator=gen, dtype=torch.float64),
            torch.randint(0, 2, (8,), generator=gen),
        )
        for _ in range(3)
    ]
    P = [_params(n) for n in nets]
    B = [_buffers(n) for n in nets]

    def check(coeffs: list[float], got: float) -> None:
        bufs = _mix(B[: len(coeffs)], coeffs) if policy == "interpolate" else B[0]
        expect = _brute(template, _mix(P[: len(coeffs)], coeffs), bufs, policy, batches)
        assert got == pytest.approx(expect, rel=1e-9, abs=1e-12)

    kw: dict[str, Any] = {"bn": policy, "progress": False}
    ln = sp.line(template, nets[0], nets[1], batches, alphas=[0.0, 0.3, 1.0, 1.5], **kw)
    assert ln.meta["bn"] == policy
    for al, v in zip(ln.alphas, ln.loss, strict=True):
        check([1 - al, al], v)
    bil = sp.bilinear(template, nets, batches, resolution=(3, 2), **kw)
    for j, be in enumerate(bil.y):
        for i, al in enumerate(bil.x):
            check([be * al, be * (1 - al), (1 - be) * al, (1 - be) * (1 - al)], bil.loss[j, i])
    bar = sp.barycentric(template, nets[:3], batches, resolution=(2, 3), **kw)
    for j, be in enumerate(bar.y):
        for i, al in enumerate(bar.x):
            check([1 - al, al * be, al * (1 - be)], bar.loss[j, i])
    d1, d2 = (_mix([P[1], P[0]], [1.0, -1.0]), _mix([P[2], P[0]], [1.0, -1.0]))
    pl = sp.plane(
        template, nets[0], batches, directions=[d1, d2], span=(-1, 1, 0, 1), resolution=(3, 2), **kw
    )
    for j, yy in enumerate(pl.y):
        for i, xx in enumerate(pl.x):
            pt = {k: P[0][k] + xx * d1[k] + yy * d2[k] for k in P[0]}
            expect = _brute(template, pt, B[0], policy, batches)
            assert pl.loss[j, i] == pytest.approx(expect, rel=1e-9, abs=1e-12)


def test_endpoints_equal_models_own_losses() -> None:
    nets = _bn_nets()
    x = torch.randn(16, 3, dtype=torch.float64)
    yy = torch.randint(0, 2, (16,))
    own = []
    for n in nets:
        m = copy.deepcopy(n).eval()
        with torch.no_grad():
            own.append(float(nn.functional.cross_entropy(m(x), yy)))
    ln = sp.line(nets[0], nets[0], nets[1], (x, yy), steps=3, bn="interpolate", progress=False)
    assert ln.loss[0] == pytest.approx(own[0], rel=1e-12)
    assert ln.loss[-1] == pytest.approx(own[1], rel=1e-12)
    bil = sp.bilinear(nets[0], nets, (x, yy), resolution=2, bn="interpolate", progress=False)
    corners = [bil.loss[1, 1], bil.loss[1, 0], bil.loss[0, 1], bil.loss[0, 0]]
    np.testing.assert_allclose(corners, own, rtol=1e-12)
    bar = sp.barycentric(nets[0], nets[:3], (x, yy), resolution=2, bn="interpolate", progress=False)
    np.testing.assert_allclose(
        [bar.loss[0, 0], bar.loss[1, 1], bar.loss[0, 1]], own[:3], rtol=1e-12
    )


def test_plane_random_directions_reproducible_and_recorded() -> None:
    net = _mlp(0)
    data = (torch.randn(10, 4, dtype=torch.float64), torch.randint(0, 3, (10,)))
    a = sp.plane(net, net, data, seed=7, resolution=3, progress=False)
    b = sp.plane(net, net, data, seed=7, resolution=3, progress=False)
    np.testing.assert_array_equal(a.loss, b.loss)
    assert a.meta["seed"] == 7
    assert a.meta["normalization"] == "filter"
    assert a.meta["ignore"] == "biasbn"
    d1 = sp.random_direction(net, generator=torch.Generator().manual_seed(7))
    d2 = sp.random_direction(net, generator=torch.Generator().manual_seed(8))
    c = sp.plane(net, net, data, directions=[d1, d2], resolution=3, progress=False)
    assert c.loss[1, 2] == pytest.approx(a.loss[1, 2], rel=1e-12)  # d1 drawn first from seed 7
    assert torch.equal(d1["0.bias"], torch.zeros(6))
    assert float(d1["0.weight"][0].norm()) == pytest.approx(
        float(cast(nn.Linear, net[0]).weight[0].detach().norm())
    )


def test_bad_input_errors_name_the_problem() -> None:
    net = _mlp(0)
    data = (torch.randn(10, 4, dtype=torch.float64), torch.randint(0, 3, (10,)))
    good = net.state_dict()
    missing = {k: v for k, v in good.items() if k != "2.bias"}
    with pytest.raises(KeyError, match=r"end.*2\.bias"):
        sp.line(net, net, missing, data)
    wrong = {**good, "0.weight": torch.zeros(5, 4)}
    with pytest.raises(ValueError, match=r"0\.weight"):
        sp.line(net, wrong, net, data)
    with pytest.raises(ValueError, match="directions\\[1\\] has shape"):
        sp.plane(net, net, data, directions=[torch.zeros(51), torch.zeros(3)])
    with pytest.raises(ValueError, match="exactly 4"):
        sp.bilinear(net, [net, net, net], data)
    with pytest.raises(ValueError, match="exactly 3"):
        sp.barycentric(net, [net, net], data)
    with pytest.raises(ValueError, match=r"(?i)empty|no batches|no data"):
        sp.line(net, net, net, [])
    with pytest.raises(ValueError, match="threshold"):
        sp.basin(net, net, data, direction="random", threshold=-1.0, max_distance=1.0)
    with pytest.raises(TypeError, match="chunksize"):
        sp.line(net, net, net, data, chunksize=4)  # type: ignore[call-arg]


def test_non_finite_points_do_not_poison_others() -> None:
    model, (a, b, *_), (x, y) = _lsq()
    b = {k: v.clone() for k, v in b.items()}
    b["bias"][0] = float("inf")
    res = sp.line(model, a, b, (x, y), alphas=[0.0, 0.5, 1.0], loss_fn=_mse, progress=False)
    assert np.isfinite(res.loss[0])
    assert not np.isfinite(res.loss[2])
    assert res.loss[0] == pytest.approx(float((_residual(a, x, y) ** 2).mean()), rel=1e-12)


def test_basin_toward_a_module_uses_unit_direction() -> None:
    lam = torch.tensor([4.0, 1.0, 0.25], dtype=torch.float64)
    bowl, target = _Bowl(lam).double(), _Bowl(lam).double()
    with torch.no_grad():
        target.w.copy_(torch.tensor([0.0, 3.0, 0.0]))
    data = (torch.zeros(2, 1, dtype=torch.float64), torch.zeros(2, dtype=torch.float64))
    res = sp.basin(
        bowl,
        bowl,
        data,
        direction=target,
        threshold=0.5,
        max_distance=2.0,
        tol=1e-10,
        loss_fn=lambda o, t: o.mean(),
        progress=False,
    )
    assert res.radius[0] == pytest.approx(1.0, abs=1e-9)  # sqrt(2·0.5/λ) with λ = 1
    assert res.meta["direction"] == "toward"


def test_bf16_precision_recorded_and_close() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
    other = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
    data = (torch.randn(64, 8), torch.randint(0, 3, (64,)))
    fp32 = sp.line(net, net, other, data, steps=5, progress=False)
    bf16 = sp.line(net, net, other, data, steps=5, precision="bf16", progress=False)
    assert bf16.meta["precision"] == "bf16"
    assert fp32.meta["precision"] == "fp32"
    np.testing.assert_allclose(bf16.loss, fp32.loss, rtol=3e-2)
