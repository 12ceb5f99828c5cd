"""Numeric arguments are checked by one mechanism (``_checks``): a bad value, including a float
where an integer is needed and nan, is a one-line ValueError naming the argument."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch

import surface_probe as sp
from surface_probe.spectral import hutchinson

from ._toys import DATA, ring, ring_ends


def _line(**kw: Any) -> Any:
    a, b = ring_ends()
    return sp.line(a, a, b, DATA, loss_fn=ring, steps=3, progress=False, **kw)


def _profile(**kw: Any) -> Any:
    a, b = ring_ends()
    return sp.path_profile(a, sp.path(a, a, b), DATA, loss_fn=ring, progress=False, **kw)


def _trajectory(**kw: Any) -> Any:
    a, b = ring_ends()
    steps = torch.stack([p.theta.detach() for p in (a, b, ring_ends()[0])])
    steps[2] += 0.3
    return sp.trajectory_plane(a, steps, DATA, loss_fn=ring, resolution=2, **kw)


def _trace(**kw: Any) -> Any:
    return hutchinson(lambda v: v, torch.zeros(3, dtype=torch.float64), **kw)


CASES: list[tuple[Callable[..., Any], dict[str, Any], str]] = [
    (_line, {"chunk_size": 0}, r"^chunk_size must be an integer >= 1, got 0$"),
    (_line, {"chunk_size": 2.5}, r"^chunk_size must be an integer >= 1, got 2\.5$"),
    (_profile, {"steps": 1}, r"^steps must be an integer >= 2, got 1$"),
    (_profile, {"steps": 3.0}, r"^steps must be an integer >= 2, got 3\.0$"),
    (_trajectory, {"margin": float("nan")}, r"^margin must be >= 0\.0 and finite, got nan$"),
    (_trajectory, {"margin": -0.1}, r"^margin must be >= 0\.0 and finite, got -0\.1$"),
    (_trace, {"block": 0}, r"^block must be an integer >= 1, got 0$"),
]


@pytest.mark.parametrize(("call", "kwargs", "message"), CASES)
def test_bad_numbers_are_named_in_one_line(
    call: Callable[..., Any], kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        call(**kwargs)
