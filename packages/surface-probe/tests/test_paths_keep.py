"""fit_path(keep="lowest_height") returns the iterate with the lowest barrier H = max_m L(θ(t_m)),
not the last one and not the one with the lowest sum Σ_m L(θ(t_m)); a resumed fit remembers it."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path as FilePath
from typing import Any

import pytest
import torch
from torch import Tensor

import surface_probe as sp

from ._toys import DATA, ring, ring_ends


def _node(loss: float, angle: float) -> list[float]:
    """A point at angle ``angle`` where the ring loss (‖θ‖² − 1)² equals ``loss``."""
    r = math.sqrt(1.0 + math.sqrt(loss))
    return [r * math.cos(angle), r * math.sin(angle)]


def _bends(l1: float, l2: float) -> Tensor:
    """Two chain nodes, above the chord, with ring losses l1 and l2."""
    return torch.tensor([_node(l1, 2.0), _node(l2, 1.1)], dtype=torch.float64)


START = _bends(0.5, 0.5)  # H = 0.5,  sum 1.0
LOWEST_SUM = _bends(0.0, 0.49)  # H = 0.49, sum 0.49
LOWEST_HEIGHT = _bends(0.3, 0.3)  # H = 0.3,  sum 0.6
LAST = _bends(0.6, 0.6)  # H = 0.6,  sum 1.2


class _Scripted(torch.optim.Optimizer):
    """Step k sets the free anchors to ``script[k]`` whatever the gradient (a known sequence)."""

    def __init__(self, params: list[Tensor], script: list[Tensor]) -> None:
        super().__init__(params, {"index": 0})
        self.script = script

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> None:  # type: ignore[override]
        for group in self.param_groups:
            group["params"][0].copy_(self.script[group["index"]])
            group["index"] += 1


def _fit(steps: int, keep: str, checkpoint: FilePath | None = None) -> Tensor:
    a, b = ring_ends()
    start = sp.path(a, a, b, kind="polychain", bends=START)
    script = [LOWEST_SUM, LOWEST_HEIGHT, LAST]
    fitted = sp.fit_path(
        a,
        start,
        DATA,
        steps=steps,
        points=3,  # grid t = 0, 1/3, 2/3, 1: the chain's nodes, H = max of the two bend losses
        loss_fn=ring,
        optimizer=lambda params: _Scripted(params, script),
        keep=keep,  # type: ignore[arg-type]
        checkpoint=checkpoint,
        checkpoint_every=1,
    )
    return fitted.free


def test_lowest_height_is_kept_not_the_last_nor_the_lowest_sum() -> None:
    torch.testing.assert_close(_fit(3, "last"), LAST, rtol=0, atol=0)
    torch.testing.assert_close(_fit(3, "lowest_height"), LOWEST_HEIGHT, rtol=0, atol=0)
    torch.testing.assert_close(_fit(1, "lowest_height"), LOWEST_SUM, rtol=0, atol=0)
    torch.testing.assert_close(_fit(0, "lowest_height"), START, rtol=0, atol=0)


def test_a_resumed_fit_remembers_the_lowest_path(tmp_path: FilePath) -> None:
    ck = tmp_path / "fit.pt"
    torch.testing.assert_close(_fit(2, "lowest_height", ck), LOWEST_HEIGHT, rtol=0, atol=0)
    torch.testing.assert_close(_fit(3, "lowest_height", ck), LOWEST_HEIGHT, rtol=0, atol=0)
    with pytest.raises(ValueError, match=r"differs in: keep\b"):
        _fit(3, "last", ck)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"keep": "lowest_sum"}, r"keep must be one of"), ({"keep_every": 0}, r"keep_every must")],
)
def test_keep_refuses_bad_arguments(kwargs: dict[str, Any], message: str) -> None:
    a, b = ring_ends()
    start = sp.path(a, a, b, kind="polychain", bends=START)
    with pytest.raises(ValueError, match=message):
        sp.fit_path(a, start, DATA, steps=1, loss_fn=ring, **kwargs)
