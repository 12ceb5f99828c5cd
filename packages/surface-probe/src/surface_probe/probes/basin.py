"""Basin sizes in absolute parameter distance (paper eq. 1).

Along each unit direction d̂ the radius around θ* is the largest r with

    L(θ* + s d̂) ≤ L(θ*) + ε   for all s ∈ [0, r].

The curve is sampled at ``steps`` distances, the first sampled crossing is bracketed and bisected;
every bisection round (one midpoint per unfinished direction) runs through the same resumable,
sharded runner as the grids, with its own checkpoint file ``NAME.bisect<r>.npz``.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from surface_probe import geometry
from surface_probe._checks import count
from surface_probe.geometry import Ignore, Normalization
from surface_probe.params import WeightsLike
from surface_probe.probes._setup import Probe, ProbeOptions
from surface_probe.probes.directions import random_directions
from surface_probe.results import BasinResult

if sys.version_info >= (3, 11):  # only annotations use Unpack, never evaluated on 3.10 (PEP 563)
    from typing import Unpack

__all__ = ["basin"]


def _positive(value: float, name: str, *, allow_zero: bool = False) -> float:
    ok = value >= 0 if allow_zero else value > 0
    if not ok or not np.isfinite(value):
        raise ValueError(
            f"{name} must be a finite number {'>=' if allow_zero else '>'} 0, got {value}"
        )
    return float(value)


def _directions(
    probe: Probe,
    center: WeightsLike,
    direction: WeightsLike | Tensor | str,
    n: int,
    seed: int | None,
    normalization: Normalization,
    ignore: Ignore,
) -> tuple[Tensor, Tensor, dict[str, Any]]:
    """Anchors (θ*, d̂_1..d̂_n) and buffer anchors, d̂ of unit length, and their meta."""
    if isinstance(direction, nn.Module):
        theta, buffers = probe.weight_sets({"center": center, "direction": direction})
        raw, raw_buffers = [theta[1] - theta[0]], [buffers[1] - buffers[0]]
        meta: dict[str, Any] = {"direction": "toward"}
    else:
        theta, buffers = probe.weight_sets({"center": center})
        if isinstance(direction, str):
            if direction != "random":
                raise ValueError(
                    f"direction must be 'random', a weight set or a dict, got {direction!r}"
                )
            seed = probe.seed(seed)
            number = count(n, "n", 1)
            raw = random_directions(probe, theta[0], number, seed, normalization, ignore)
            meta = {"direction": "random", "seed": seed}
            meta.update(normalization=normalization, ignore=ignore)
        elif isinstance(direction, Tensor | Mapping):
            raw, meta = [probe.direction(direction, "direction")], {"direction": "given"}
        else:
            raise TypeError(
                "direction must be 'random', a module, a dict or a tensor, "
                f"got {type(direction).__name__}"
            )
        raw_buffers = [torch.zeros_like(buffers[0])] * len(raw)
    norms = [float(torch.linalg.vector_norm(d.double())) for d in raw]
    if any(not (v > 0 and np.isfinite(v)) for v in norms):
        raise ValueError("basin direction has zero (or non-finite) length")
    unit = [d / v for d, v in zip(raw, norms, strict=True)]
    unit_buffers = [b / v for b, v in zip(raw_buffers, norms, strict=True)]
    return torch.stack([theta[0], *unit]), torch.stack([buffers[0], *unit_buffers]), meta


def _at(directions: np.ndarray, distances: np.ndarray, number: int) -> Tensor:
    """Coefficients of the points θ* + s_p d̂_{k_p} over the anchors (θ*, d̂_1..d̂_n)."""
    c = torch.zeros(len(directions), number + 1, dtype=torch.float64)
    c[:, 0] = 1.0
    c[torch.arange(len(directions)), 1 + torch.as_tensor(directions)] = torch.as_tensor(distances)
    return c


def basin(
    model: nn.Module,
    center: WeightsLike,
    data: Any,
    *,
    direction: WeightsLike | Tensor | str,
    threshold: float,
    max_distance: float,
    n: int = 1,
    seed: int | None = None,
    steps: int = 41,
    tol: float | None = None,
    normalization: Normalization = "filter",
    ignore: Ignore = "biasbn",
    **options: Unpack[ProbeOptions],
) -> BasinResult:
    """Basin radius around θ* = ``center`` in absolute parameter distance (module docstring).

    The curve is sampled at ``steps`` distances linspace(0, max_distance) (kept as ``loss``); the
    first sampled crossing is bisected to ``tol`` (> 0; default 1e-3 of the sampling step) or
    until the bracket is one float wide; a non-finite loss counts as a crossing.  If the curve
    never crosses, the radius is ``max_distance`` and ``meta["censored"][k]`` is True.

    ``direction``: an ``nn.Module`` (d = θ_module − θ*; floating buffers move toward its buffers
    in step), a dict of tensors or a flat (dim,) tensor (d as given), or ``"random"`` (``n``
    filter-normalized Gaussian directions from ``seed``).  Each d is scaled to unit length.

    Shared keyword options: :class:`ProbeOptions`.
    """
    threshold = _positive(threshold, "threshold", allow_zero=True)
    max_distance = _positive(max_distance, "max_distance")
    steps = count(steps, "steps", 2)
    step_tol = max_distance / (steps - 1) * 1e-3 if tol is None else _positive(tol, "tol")
    probe = Probe("basin", model, data, options)
    anchors, buffer_anchors, meta = _directions(
        probe, center, direction, n, seed, normalization, ignore
    )
    k = anchors.shape[0] - 1
    distances = geometry.axis(0.0, max_distance, steps)
    grid = _at(np.repeat(np.arange(k), steps), np.tile(distances, k), k)
    seed_used = meta.get("seed")
    curve = probe.run(grid, anchors, buffer_anchors, seed=seed_used)["loss"].reshape(k, steps)
    center_loss = float(curve[0, 0])
    limit = center_loss + threshold
    # the first sampled crossing of each curve (steps: none); its bracket [lo, hi] is bisected
    crossing = np.array([np.append(np.flatnonzero(~(row <= limit)), steps)[0] for row in curve])
    censored = [bool(c == steps) for c in crossing]
    padded = np.append(distances, max_distance)  # a censored curve's bracket is [max, max]
    lo, hi = padded[np.maximum(crossing - 1, 0)], padded[crossing]
    lo[crossing == steps] = max_distance
    for rnd in itertools.count(1):  # ends: each round halves the brackets
        mid = 0.5 * (lo + hi)
        active = np.flatnonzero((hi - lo > step_tol) & (lo < mid) & (mid < hi))
        if active.size == 0:
            break
        points = _at(active, mid[active], k)
        values = probe.run(points, anchors, buffer_anchors, seed=seed_used, stage=f"bisect{rnd}")
        good = values["loss"] <= limit
        lo[active] = np.where(good, mid[active], lo[active])
        hi[active] = np.where(good, hi[active], mid[active])
    meta.update(steps=steps, max_distance=max_distance, censored=censored, tol=step_tol)
    return BasinResult(
        radius=lo,
        distances=distances,
        loss=curve,
        center_loss=center_loss,
        threshold=threshold,
        meta=probe.meta(**meta),
    )
