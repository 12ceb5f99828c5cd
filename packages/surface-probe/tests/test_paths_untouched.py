"""Every path call leaves the user's modules bitwise unchanged, also when it raises midway."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch import Tensor, nn

import surface_probe as sp

from .test_untouched import _models, _same, _snapshot

CALLS: dict[str, Callable[[list[nn.Module], Any, Any], Any]] = {
    "path_profile": lambda m, data, loss: sp.path_profile(
        m[0], sp.path(m[0], m[1], m[2], kind="bezier"), data, loss_fn=loss, steps=4
    ),
    "fit_path": lambda m, data, loss: sp.fit_path(
        m[0], sp.path(m[0], m[1], m[2], kind="fourier", bends=2), data, steps=3, loss_fn=loss
    ),
    "fit_path_neb": lambda m, data, loss: sp.fit_path(
        m[0],
        sp.path(m[0], m[1], m[2], kind="beads", bends=2),
        data,
        steps=3,
        objective="neb",
        loss_fn=loss,
    ),
    "dss": lambda m, data, loss: sp.dss(
        m[0], m[1], m[2], data, level=1e-9, bead_steps=3, max_depth=1, loss_fn=loss
    ),
    "align": lambda m, data, loss: sp.align(m[0], m[1], m[2]),
}


def _data() -> tuple[Tensor, Tensor]:
    g = torch.Generator().manual_seed(0)
    return torch.randn(6, 3, generator=g), torch.randint(0, 2, (6,), generator=g)


@pytest.mark.parametrize("call", sorted(CALLS))
def test_models_unchanged_after_path_calls(call: str) -> None:
    models = _models()
    before = [_snapshot(m) for m in models]
    CALLS[call](models, _data(), nn.functional.cross_entropy)
    for m, snap in zip(models, before, strict=True):
        _same(_snapshot(m), snap)


@pytest.mark.parametrize("call", sorted(set(CALLS) - {"align"}))
def test_models_unchanged_after_a_path_call_raises(call: str) -> None:
    models = _models()
    before = [_snapshot(m) for m in models]
    calls = 0

    def fails_later(out: Tensor, y: Tensor) -> Tensor:
        nonlocal calls
        calls += 1
        if calls > 2:
            raise RuntimeError("boom")
        return nn.functional.cross_entropy(out, y)

    with pytest.raises(RuntimeError, match="boom"):
        CALLS[call](models, _data(), fails_later)
    for m, snap in zip(models, before, strict=True):
        _same(_snapshot(m), snap)
