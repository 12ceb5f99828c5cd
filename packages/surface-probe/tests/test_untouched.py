"""The user's modules are never changed: parameters and buffers bitwise, requires_grad,
training mode and hooks — after every probe, and after a probe that raises midway."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch import Tensor, nn

import surface_probe as sp


class _Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(3, 4)
        self.bn = nn.BatchNorm1d(4)
        self.fc2 = nn.Linear(4, 2)
        self.drop = nn.Dropout(0.5)

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.fc2(self.drop(torch.relu(self.bn(self.fc1(x)))))
        return out


def _snapshot(m: nn.Module) -> dict[str, Any]:
    return {
        "state": {k: v.detach().clone() for k, v in m.state_dict().items()},
        "grad": {k: p.requires_grad for k, p in m.named_parameters()},
        "training": {k: s.training for k, s in m.named_modules()},
        "hooks": {
            k: (len(s._forward_hooks), len(s._forward_pre_hooks)) for k, s in m.named_modules()
        },
        "bn": (m.bn.momentum, m.bn.track_running_stats),  # type: ignore[union-attr]
    }


def _same(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert a["state"].keys() == b["state"].keys()
    for k in a["state"]:
        assert torch.equal(a["state"][k], b["state"][k]), k
        assert a["state"][k].dtype == b["state"][k].dtype
    assert a["grad"] == b["grad"]
    assert a["training"] == b["training"]
    assert a["hooks"] == b["hooks"]
    assert a["bn"] == b["bn"]


def _models() -> list[_Net]:
    out = []
    for s in range(4):
        torch.manual_seed(s)
        m = _Net()
        m.train() if s % 2 else m.eval()
        m.fc1.weight.requires_grad_(s != 1)
        m.register_forward_hook(lambda mod, i, o: None)
        out.append(m)
    return out


PROBES: dict[str, Callable[[list[_Net], Any, dict[str, Any]], object]] = {
    "line": lambda m, d, kw: sp.line(m[0], m[1], m[2], d, steps=3, **kw),
    "plane": lambda m, d, kw: sp.plane(m[0], m[1], d, resolution=2, seed=0, **kw),
    "bilinear": lambda m, d, kw: sp.bilinear(m[0], m, d, resolution=2, **kw),
    "barycentric": lambda m, d, kw: sp.barycentric(m[0], m[:3], d, resolution=2, **kw),
    "basin": lambda m, d, kw: sp.basin(
        m[0], m[1], d, direction=m[2], threshold=0.1, max_distance=1.0, steps=3, **kw
    ),
    "fd_line": lambda m, d, kw: sp.functional_distance_line(m[0], m[1], m[2], d, steps=3, **kw),
}


@pytest.mark.parametrize("bn", ["recompute", "interpolate", "batch"])
@pytest.mark.parametrize("name", sorted(PROBES))
def test_models_unchanged(name: str, bn: str) -> None:
    models = _models()
    before = [_snapshot(m) for m in models]
    data = (torch.randn(6, 3), torch.randint(0, 2, (6,)))
    PROBES[name](models, data, {"bn": bn, "progress": False})
    for m, b in zip(models, before, strict=True):
        _same(_snapshot(m), b)


def test_models_unchanged_after_probe_raises_midway() -> None:
    models = _models()
    before = [_snapshot(m) for m in models]
    calls: list[int] = []

    def failing(out: Tensor, tgt: Tensor) -> Tensor:
        calls.append(1)
        if len(calls) > 2:
            raise RuntimeError("metric failed")
        return out.sum() * 0

    data = (torch.randn(6, 3), torch.randint(0, 2, (6,)))
    with pytest.raises(RuntimeError, match="metric failed"):
        sp.plane(
            models[0], models[1], data, resolution=3, seed=0, metrics={"f": failing}, progress=False
        )
    with pytest.raises(RuntimeError, match="metric failed"):
        sp.line(models[0], models[1], models[2], data, metrics={"f": failing}, progress=False)
    for m, b in zip(models, before, strict=True):
        _same(_snapshot(m), b)
