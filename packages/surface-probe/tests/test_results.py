"""Results: save/load round trips, atomic writes, checkpoint and resume."""

from __future__ import annotations

from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pytest
import torch
from torch import Tensor, nn

import surface_probe as sp
from surface_probe.results import (
    BasinResult,
    FunctionalDistance,
    LineResult,
    SurfaceResult,
    atomic_write,
)


def test_round_trips(tmp_path: Path) -> None:
    meta = {"bn": "recompute", "precision": "fp32", "seed": 3, "nested": {"a": [1, 2]}}
    line = LineResult(
        np.linspace(0, 1, 3),
        np.array([0.0, np.nan, np.inf]),
        {"accuracy": np.array([1.0, 0.5, 0.0])},
        meta,
    )
    surf = SurfaceResult(
        np.arange(3.0),
        np.arange(2.0),
        np.arange(6.0).reshape(2, 3),
        {"accuracy": np.ones((2, 3))},
        {**meta, "kind": "plane"},
    )
    basin = BasinResult(
        np.array([0.5, 1.0]),
        np.linspace(0, 2, 4),
        np.zeros((2, 4)),
        0.25,
        0.1,
        {**meta, "censored": [False, True]},
    )
    fd = FunctionalDistance(0.16, 0.08, meta)
    for res in (line, surf, basin, fd):
        path = tmp_path / f"{type(res).__name__}.npz"
        res.save(path)
        back = type(res).load(path)
        assert back.meta == res.meta
        for name in type(res).__dataclass_fields__:
            a, b = getattr(res, name), getattr(back, name)
            if isinstance(a, np.ndarray):
                np.testing.assert_array_equal(a, b)
            elif isinstance(a, dict) and name == "metrics":
                assert a.keys() == b.keys()
                for k in a:
                    np.testing.assert_array_equal(a[k], b[k])
            else:
                assert a == b
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"{type(r).__name__}.npz" for r in (line, surf, basin, fd)
    )  # no temporary files left behind
    with pytest.raises(ValueError, match="LineResult result, not a SurfaceResult"):
        SurfaceResult.load(tmp_path / "LineResult.npz")


def test_save_is_atomic_on_failure(tmp_path: Path) -> None:
    path = tmp_path / "r.npz"
    LineResult(np.zeros(2), np.zeros(2), {}, {"v": 1}).save(path)
    bad = LineResult(np.zeros(2), np.zeros(2), {}, {"v": object()})  # not JSON-serialisable
    with pytest.raises(TypeError):
        bad.save(path)
    assert LineResult.load(path).meta == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["r.npz"]


class _Boom(Exception):
    pass


def _counting_metric(limit: int | None, calls: list[int]):  # type: ignore[no-untyped-def]
    def metric(out: Tensor, tgt: Tensor) -> Tensor:
        calls.append(1)
        if limit is not None and len(calls) > limit:
            raise _Boom
        return (out.argmax(1) == tgt).double().mean()

    return metric


def test_checkpoint_resume_computes_only_missing(tmp_path: Path) -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 3)).double()
    data = (torch.randn(12, 4, dtype=torch.float64), torch.randint(0, 3, (12,)))
    ckpt = tmp_path / "plane.ckpt.npz"
    kw: dict[str, Any] = {"seed": 1, "resolution": (4, 3), "chunk_size": 2, "progress": False}
    kw["checkpoint_key"] = "counting acc"  # the metric is a closure: named for the checkpoint
    full = sp.plane(net, net, data, metrics={"acc": _counting_metric(None, [])}, **kw)
    calls: list[int] = []
    with pytest.raises(_Boom):
        sp.plane(net, net, data, metrics={"acc": _counting_metric(5, calls)}, checkpoint=ckpt, **kw)
    # one batch per point: points 0..4 evaluated, chunks {0,1},{2,3} saved, chunk {4,5} lost
    calls2: list[int] = []
    res = sp.plane(
        net, net, data, metrics={"acc": _counting_metric(None, calls2)}, checkpoint=ckpt, **kw
    )
    assert len(calls2) == 12 - 4
    np.testing.assert_array_equal(res.loss, full.loss)
    np.testing.assert_array_equal(res.metrics["acc"], full.metrics["acc"])
    calls3: list[int] = []  # finished checkpoint: nothing recomputed
    sp.plane(net, net, data, metrics={"acc": _counting_metric(None, calls3)}, checkpoint=ckpt, **kw)
    assert calls3 == []
    with pytest.raises(ValueError, match=r"different arguments.*coefficients"):
        sp.plane(
            net,
            net,
            data,
            metrics={"acc": _counting_metric(None, [])},
            checkpoint=ckpt,
            **{**kw, "resolution": (3, 3)},
        )


def test_zero_loss_is_not_missing(tmp_path: Path) -> None:
    model = nn.Linear(1, 1, bias=False).double()
    data = (torch.zeros(3, 1, dtype=torch.float64), torch.zeros(3, 1, dtype=torch.float64))
    calls: list[int] = []

    def loss(out: Tensor, tgt: Tensor) -> Tensor:
        calls.append(1)
        return ((out - tgt) ** 2).mean()

    ckpt = tmp_path / "line.npz"
    kw: dict[str, Any] = {"steps": 3, "loss_fn": loss, "checkpoint_key": "sq", "progress": False}
    first = sp.line(model, model, model, data, checkpoint=ckpt, **kw)
    assert np.all(first.loss == 0.0)
    assert len(calls) == 3
    again = sp.line(model, model, model, data, checkpoint=ckpt, **kw)
    assert len(calls) == 3
    assert np.all(again.loss == 0.0)


def test_basin_bisection_and_functional_distance_resume_from_checkpoints(tmp_path: Path) -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 3)).double()
    other = nn.Sequential(nn.Linear(4, 3)).double()
    data = (torch.randn(12, 4, dtype=torch.float64), torch.randint(0, 3, (12,)))
    calls: list[int] = []

    def loss(out: Tensor, tgt: Tensor) -> Tensor:
        calls.append(1)
        return nn.functional.cross_entropy(out, tgt)

    kw: dict[str, Any] = {"loss_fn": loss, "checkpoint_key": "ce", "progress": False}
    ckpt = tmp_path / "basin.npz"
    args: dict[str, Any] = {"direction": "random", "n": 2, "seed": 0, "threshold": 0.05}
    args.update(max_distance=3.0, steps=4)
    first = sp.basin(net, net, data, **args, checkpoint=ckpt, **kw)
    assert len(list(tmp_path.glob("basin.bisect*.npz"))) > 1  # the bisection is checkpointed
    n_calls = len(calls)
    again = sp.basin(net, net, data, **args, checkpoint=ckpt, **kw)
    assert len(calls) == n_calls  # nothing recomputed
    np.testing.assert_array_equal(again.radius, first.radius)
    fd = sp.functional_distance(net, net, other, data, checkpoint=tmp_path / "fd.npz", **kw)
    n_calls = len(calls)
    fd2 = sp.functional_distance(net, net, other, data, checkpoint=tmp_path / "fd.npz", **kw)
    assert fd2.rms == fd.rms > 0
    assert len(calls) == n_calls


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path: Path) -> None:
    """The one atomic-write mechanism (npz results and checkpoints, fit_path's torch.save)."""
    target = tmp_path / "sub" / "f.bin"
    atomic_write(target, lambda fh: fh.write(b"old"))

    def half_then_fail(fh: BinaryIO) -> None:
        fh.write(b"new, half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, half_then_fail)
    assert target.read_bytes() == b"old"
    assert [p.name for p in target.parent.iterdir()] == ["f.bin"]
