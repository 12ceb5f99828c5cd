"""Issue 9 defects: resumes that mix runs, basin hangs, low-precision models, weight sets'
buffers, errors that name nothing, and double work.  Each test failed before its fix."""

from __future__ import annotations

import copy
import struct
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import Tensor, nn

import surface_probe as sp

DATA_X = torch.randn(24, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
DATA_Y = torch.randint(0, 3, (24,), generator=torch.Generator().manual_seed(1))


def _mlp(
    seed: int = 0, act: type[nn.Module] = nn.ReLU, dtype: torch.dtype = torch.float64
) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 6), act(), nn.Linear(6, 3)).to(dtype)


def _bn_net(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 3)).double()
    with torch.no_grad():
        net[1].running_mean.uniform_(-0.5, 0.5)  # type: ignore[operator]
        net[1].running_var.uniform_(0.5, 2.0)  # type: ignore[operator]
    return net


def _mse(out: Tensor, tgt: Tensor) -> Tensor:
    return ((out - nn.functional.one_hot(tgt, 3).to(out.dtype)) ** 2).mean()


def _first_chunk_then_stop(tmp: Path, **kw: Any) -> Path:
    """Run a 9-point plane with chunk_size 3 and stop it after the first chunk."""
    ckpt = tmp / "ckpt.npz"
    calls = {"n": 0}

    def stop(out: Tensor, tgt: Tensor) -> Tensor:
        calls["n"] += 1
        if calls["n"] > 3:
            raise KeyboardInterrupt
        return out.new_zeros(())

    with pytest.raises(KeyboardInterrupt):
        sp.plane(
            **kw,
            resolution=3,
            seed=0,
            metrics={"stop": stop},
            checkpoint=ckpt,
            chunk_size=3,
            progress=False,
            checkpoint_key="stop-v1",
        )
    return ckpt


# 1. resume fingerprint -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"data": (DATA_X, (DATA_Y + 1) % 3)}, "data"),
        ({"data": (DATA_X + 1, DATA_Y)}, "data"),
        ({"loss_fn": _mse}, "loss_fn"),
        ({"model": _mlp(act=nn.Tanh)}, "structure"),
    ],
)
def test_resume_refuses_a_different_run_naming_the_field(
    tmp_path: Path, change: dict[str, Any], field: str
) -> None:
    net = _mlp()
    base: dict[str, Any] = {"model": net, "center": net, "data": (DATA_X, DATA_Y)}
    ckpt = _first_chunk_then_stop(tmp_path, **base)
    stop = {"stop": lambda o, t: o.new_zeros(())}
    with pytest.raises(ValueError, match=rf"differs in: .*\b{field}\b"):
        sp.plane(
            **{**base, **change},
            resolution=3,
            seed=0,
            metrics=stop,
            checkpoint=ckpt,
            chunk_size=3,
            progress=False,
            checkpoint_key="stop-v1",
        )


def test_resume_refuses_changed_buffers_and_calibration(tmp_path: Path) -> None:
    net = _bn_net()
    kw: dict[str, Any] = {"data": (DATA_X, DATA_Y), "resolution": 2, "seed": 0, "progress": False}
    sp.plane(net, net, bn="frozen", checkpoint=tmp_path / "f.npz", **kw)
    other = copy.deepcopy(net)
    with torch.no_grad():
        other[1].running_var.mul_(2)  # type: ignore[operator]
    with pytest.raises(ValueError, match=r"differs in: .*buffers"):
        sp.plane(other, net, bn="frozen", checkpoint=tmp_path / "f.npz", **kw)
    cal = (DATA_X[:12], DATA_Y[:12])
    sp.plane(net, net, calibration=cal, checkpoint=tmp_path / "r.npz", **kw)
    with pytest.raises(ValueError, match=r"differs in: .*calibration"):
        sp.plane(
            net, net, calibration=(DATA_X[12:], DATA_Y[12:]), checkpoint=tmp_path / "r.npz", **kw
        )


def test_resume_with_unidentifiable_callable_needs_a_key(tmp_path: Path) -> None:
    net = _mlp()
    kw: dict[str, Any] = {"resolution": 2, "progress": False, "checkpoint": tmp_path / "c.npz"}
    with pytest.raises(ValueError, match=r"loss_fn.*checkpoint_key"):
        sp.plane(net, net, (DATA_X, DATA_Y), loss_fn=lambda o, t: _mse(o, t), **kw)
    first = sp.plane(
        net, net, (DATA_X, DATA_Y), loss_fn=lambda o, t: _mse(o, t), checkpoint_key="mse", **kw
    )
    again = sp.plane(
        net, net, (DATA_X, DATA_Y), loss_fn=lambda o, t: _mse(o, t), checkpoint_key="mse", **kw
    )
    np.testing.assert_array_equal(first.loss, again.loss)
    with pytest.raises(ValueError, match=r"differs in: .*checkpoint_key"):
        sp.plane(
            net,
            net,
            (DATA_X, DATA_Y),
            loss_fn=lambda o, t: _mse(o, t),
            checkpoint_key="other",
            **kw,
        )


def test_identical_resume_with_seed_none_is_accepted(tmp_path: Path) -> None:
    net = _mlp()
    kw: dict[str, Any] = {"resolution": 3, "progress": False, "checkpoint": tmp_path / "s.npz"}
    first = sp.plane(net, net, (DATA_X, DATA_Y), **kw)
    again = sp.plane(net, net, (DATA_X, DATA_Y), **kw)
    assert again.meta["seed"] == first.meta["seed"]
    np.testing.assert_array_equal(first.loss, again.loss)
    args: dict[str, Any] = {"direction": "random", "threshold": 0.1, "max_distance": 1.0}
    args.update(steps=5, progress=False, checkpoint=tmp_path / "b.npz")
    b1, b2 = (sp.basin(net, net, (DATA_X, DATA_Y), **args) for _ in range(2))
    np.testing.assert_array_equal(b1.radius, b2.radius)


# 2. basin tolerance ----------------------------------------------------------------------------


def _random_basin(**kw: Any) -> Any:
    net = _mlp()
    args: dict[str, Any] = {"direction": "random", "seed": 0, "threshold": 0.01, "progress": False}
    return sp.basin(net, net, (DATA_X, DATA_Y), **{**args, "max_distance": 5.0, **kw})


@pytest.mark.parametrize("tol", [0.0, -1.0, float("nan")])
def test_basin_rejects_non_positive_tol(tol: float) -> None:
    with pytest.raises(ValueError, match="tol"):
        _random_basin(tol=tol)


def test_basin_tiny_tol_stops_at_float_resolution() -> None:
    res = _random_basin(max_distance=20.0, steps=5, tol=1e-20)
    assert 0 < res.radius[0] < 20.0


def test_basin_with_a_non_finite_center_has_radius_zero() -> None:
    res = _random_basin(steps=3, loss_fn=lambda o, t: o.sum() * float("nan"))
    assert res.radius[0] == 0.0
    assert res.meta["censored"] == [False]


# 3. bf16 / fp16 models -------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_every_probe_runs_on_low_precision_models(dtype: torch.dtype) -> None:
    nets = [_mlp(s, dtype=dtype) for s in range(3)]
    data = (DATA_X.to(dtype), DATA_Y)
    kw: dict[str, Any] = {"progress": False}
    assert np.isfinite(sp.line(nets[0], nets[0], nets[1], data, steps=3, **kw).loss).all()
    assert np.isfinite(sp.plane(nets[0], nets[0], data, resolution=2, seed=0, **kw).loss).all()
    assert np.isfinite(sp.bilinear(nets[0], nets + nets[:1], data, resolution=2, **kw).loss).all()
    assert np.isfinite(sp.barycentric(nets[0], nets, data, resolution=2, **kw).loss).all()
    res = sp.basin(
        nets[0], nets[0], data, direction=nets[1], threshold=0.1, max_distance=1.0, steps=3, **kw
    )
    assert np.isfinite(res.radius).all()
    assert np.isfinite(sp.functional_distance(nets[0], nets[0], nets[1], data).rms)


def test_fp16_losses_are_reduced_in_float32() -> None:
    net = _mlp(dtype=torch.float16)
    x = DATA_X.half()
    with torch.no_grad():
        expect = float(nn.functional.cross_entropy(net(x).float(), DATA_Y))
    got = sp.line(net, net, net, (x, DATA_Y), steps=1, progress=False).loss[0]
    assert got == pytest.approx(expect, rel=1e-6)


# 4. the weight sets' buffers -------------------------------------------------------------------


class _Tempered(nn.Module):
    def __init__(self, temperature: float = 1.0) -> None:
        super().__init__()
        self.lin = nn.Linear(4, 3).double()
        self.register_buffer("temperature", torch.tensor(temperature, dtype=torch.float64))
        self.register_buffer("scale", torch.tensor(2.0, dtype=torch.float64), persistent=False)
        self.register_buffer("shift", torch.tensor(0))

    def forward(self, x: Tensor) -> Tensor:
        return self.lin(x) / self.temperature * self.scale / 2 + self.shift


def _loss(net: nn.Module) -> float:
    with torch.no_grad():
        return float(nn.functional.cross_entropy(net(DATA_X), DATA_Y))


def test_float_buffers_move_with_the_weight_sets() -> None:
    torch.manual_seed(0)
    t = _Tempered()
    a = copy.deepcopy(t)
    a.temperature.fill_(5.0)
    data = (DATA_X, DATA_Y)
    res = sp.line(t, a, a, data, steps=2, progress=False)
    np.testing.assert_allclose(res.loss, _loss(a), rtol=1e-12)
    assert sp.functional_distance(t, a, t, data).rms > 0
    mid = sp.line(t, a, t, data, alphas=[0.5], progress=False).loss[0]
    half = copy.deepcopy(t)
    half.temperature.fill_(3.0)
    assert mid == pytest.approx(_loss(half), rel=1e-12)


def test_integer_buffers_come_from_the_weight_sets_or_are_refused() -> None:
    torch.manual_seed(0)
    t = _Tempered()
    a, b = copy.deepcopy(t), copy.deepcopy(t)
    a.shift.fill_(1)
    b.shift.fill_(1)
    res = sp.line(t, a, b, (DATA_X, DATA_Y), steps=2, progress=False)
    np.testing.assert_allclose(res.loss, _loss(a), rtol=1e-12)
    b.shift.fill_(2)
    with pytest.raises(ValueError, match=r"shift.*end"):
        sp.line(t, a, b, (DATA_X, DATA_Y), steps=2, progress=False)


def test_non_persistent_buffers_come_from_the_template() -> None:
    torch.manual_seed(0)
    net = _bn_net()
    net.register_buffer("unsaved", torch.ones(1, dtype=torch.float64), persistent=False)
    sd = net.state_dict()
    assert "unsaved" not in sd
    res = sp.line(net, sd, sd, (DATA_X, DATA_Y), steps=2, bn="interpolate", progress=False)
    assert np.isfinite(res.loss).all()


class _Tied(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.Linear(4, 4, bias=False).double()
        self.decoder = nn.Linear(4, 4, bias=False).double()
        self.decoder.weight = self.encoder.weight
        self.head = nn.Linear(4, 3).double()

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.decoder(self.encoder(x)))


def test_differing_tied_alias_names_both_keys() -> None:
    net = _Tied()
    sd = {k: v.clone() for k, v in net.state_dict().items()}
    sp.line(net, sd, net, (DATA_X, DATA_Y), steps=2, progress=False)  # equal alias: fine
    sd["decoder.weight"] += 1
    with pytest.raises(
        ValueError, match=r"decoder\.weight.*encoder\.weight|encoder\.weight.*decoder\.weight"
    ):
        sp.line(net, sd, net, (DATA_X, DATA_Y), steps=2, progress=False)


# 5. errors that name the argument, key, file or shape ------------------------------------------


def test_corrupt_checkpoints_name_the_file(tmp_path: Path) -> None:
    net = _mlp()
    kw: dict[str, Any] = {"resolution": 2, "seed": 0, "progress": False}
    good = tmp_path / "good.npz"
    sp.plane(net, net, (DATA_X, DATA_Y), checkpoint=good, **kw)
    raw = good.read_bytes()
    paths = [tmp_path / f"{n}.npz" for n in ("empty", "trunc", "magic", "payload")]
    paths[0].write_bytes(b"")
    paths[1].write_bytes(raw[: len(raw) // 2])
    with zipfile.ZipFile(good) as z:
        info = z.infolist()[-1]
    name_len, extra_len = struct.unpack(
        "<HH", raw[info.header_offset + 26 : info.header_offset + 30]
    )
    start = info.header_offset + 30 + name_len + extra_len  # first byte of the member
    for path, offset in zip(paths[2:], (start + 5, start + info.file_size - 1), strict=True):
        body = bytearray(raw)
        body[offset] ^= 0xFF  # one flipped bit pattern in the npy magic / in the array bytes
        path.write_bytes(bytes(body))
    for path in paths:
        with pytest.raises(ValueError, match=path.name) as err:
            sp.plane(net, net, (DATA_X, DATA_Y), checkpoint=path, **kw)
        assert "\n" not in str(err.value)
        with pytest.raises(ValueError, match=path.name):
            sp.SurfaceResult.load(path)


def _weight_norm_net() -> nn.Module:
    net = _mlp()
    with pytest.warns(FutureWarning):
        net[0] = torch.nn.utils.weight_norm(net[0])
    return net


def _meta_sd() -> dict[str, Tensor]:
    with torch.device("meta"):
        return _mlp().state_dict()


def _bad_calls() -> list[tuple[Any, str]]:
    net = _mlp()
    d = (DATA_X, DATA_Y)
    kw: dict[str, Any] = {"progress": False}
    return [
        (lambda: sp.line(net, net, net, (DATA_X, DATA_Y + 3), **kw), "targets.*class.*3"),
        (lambda: sp.line(net, net, net, (DATA_X[:20], DATA_Y), **kw), "data.*20.*24"),
        (lambda: sp.plane(net, net, d, resolution=(3,), **kw), "resolution"),
        (lambda: sp.plane(net, net, d, resolution=2.7, **kw), "resolution"),  # type: ignore[arg-type]
        (lambda: sp.plane(net, net, d, span=(1, 2), **kw), "span"),  # type: ignore[arg-type]
        (lambda: sp.line(net, _meta_sd(), net, d, **kw), r"start.*0\.weight.*meta"),
        (lambda: sp.line(_weight_norm_net(), net, net, d, **kw), "weight_norm"),
        (lambda: sp.line(net, net, net, d, steps=2.5, **kw), "steps"),  # type: ignore[arg-type]
        (
            lambda: sp.basin(
                net, net, d, direction="random", threshold=0.1, max_distance=1.0, steps=2.5, **kw
            ),
            "steps",
        ),  # type: ignore[arg-type]
        (
            lambda: sp.line(net, net, net, d, loss_fn=lambda o, t: o.mean() * 1j, **kw),
            "loss_fn.*complex",
        ),
    ]


@pytest.mark.parametrize("case", range(len(_bad_calls())))
def test_bad_input_refused_with_a_one_line_message(case: int) -> None:
    call, match = _bad_calls()[case]
    with pytest.raises((ValueError, TypeError), match=match) as err:
        call()
    assert "\n" not in str(err.value)


# 6. one load per point -------------------------------------------------------------------------


def test_functional_distance_line_loads_each_point_once() -> None:
    net = _bn_net()
    calls = {"n": 0}

    def count(module: nn.Module, args: Any, out: Tensor) -> None:
        calls["n"] += 1

    template = copy.deepcopy(net)
    template.register_forward_hook(count)
    batches = [(DATA_X[:12], DATA_Y[:12]), (DATA_X[12:], DATA_Y[12:])]
    sp.functional_distance_line(template, net, _bn_net(1), batches, steps=3, progress=False)
    # reference + 3 points, each: 2 calibration + 2 evaluation forward passes
    assert calls["n"] == 4 * (2 + 2)
