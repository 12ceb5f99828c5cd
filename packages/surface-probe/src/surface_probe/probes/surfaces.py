"""Surfaces: a plane around one weight set (Li et al. 2018), the bilinear patch over four and the
barycentric triangle over three weight sets (paper appendix A.1).

Grids are x, y = linspace(...) flattened with y outer (see :func:`geometry.grid`), so
``loss[j, i]`` is the point at (x[i], y[j]).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from surface_probe import geometry
from surface_probe.geometry import Ignore, Normalization
from surface_probe.params import WeightsLike
from surface_probe.probes._arguments import (
    Resolution,
    Span,
    resolution_pair,
    span_box,
    weight_sets,
)
from surface_probe.probes._setup import Probe, ProbeOptions, split
from surface_probe.probes.directions import random_directions
from surface_probe.results import SurfaceResult

if sys.version_info >= (3, 11):  # only annotations use Unpack, never evaluated on 3.10 (PEP 563)
    from typing import Unpack

__all__ = ["barycentric", "bilinear", "plane"]


def _surface(
    probe: Probe,
    x: np.ndarray,
    y: np.ndarray,
    coefficients: Callable[[np.ndarray, np.ndarray], Tensor],
    anchors: tuple[Tensor, Tensor],
    **meta: Any,
) -> SurfaceResult:
    xs, ys = geometry.grid(x, y)
    values = probe.run(coefficients(xs, ys), *anchors, seed=meta.get("seed"))
    loss, metrics = split(values, (y.size, x.size))
    return SurfaceResult(x=x, y=y, loss=loss, metrics=metrics, meta=probe.meta(**meta))


_PATCHES = {
    "bilinear": geometry.bilinear_coefficients,
    "barycentric": geometry.barycentric_coefficients,
}


def _patch(
    kind: str,
    model: nn.Module,
    sets: Mapping[str, WeightsLike],
    data: Any,
    resolution: Resolution,
    options: ProbeOptions,
) -> SurfaceResult:
    """The (α, β) ∈ [0, 1]² patch of ``kind`` over the named weight sets."""
    nx, ny = resolution_pair(resolution)
    probe = Probe(kind, model, data, options)
    x, y = geometry.axis(0.0, 1.0, nx), geometry.axis(0.0, 1.0, ny)
    return _surface(probe, x, y, _PATCHES[kind], probe.weight_sets(sets))


def plane(
    model: nn.Module,
    center: WeightsLike,
    data: Any,
    *,
    directions: Sequence[Mapping[str, Tensor] | Tensor] | None = None,
    span: Span = 1.0,
    resolution: Resolution = 21,
    normalization: Normalization = "filter",
    ignore: Ignore = "biasbn",
    seed: int | None = None,
    **options: Unpack[ProbeOptions],
) -> SurfaceResult:
    """Loss on the plane θ(x, y) = θ_0 + x d_1 + y d_2 (Li et al. 2018), ``loss[j, i]`` at
    (x[i], y[j]) with x, y = linspace over ``span`` = s or (xmin, xmax, ymin, ymax).

    Without ``directions``, d_1, d_2 are two standard normal directions drawn (in that order) from
    a generator seeded with ``seed`` (when None: the seed of the checkpoint being resumed, else a
    fresh one; recorded in ``meta``) and normalized per ``normalization``/``ignore`` against θ_0;
    given directions are used as they are.

    Shared keyword options: :class:`ProbeOptions`.
    """
    nx, ny = resolution_pair(resolution)
    xmin, xmax, ymin, ymax = span_box(span)
    probe = Probe("plane", model, data, options)
    theta, buffers = probe.weight_sets({"center": center})
    meta: dict[str, Any] = {"span": [xmin, xmax, ymin, ymax]}
    if directions is None:
        seed = probe.seed(seed)
        d1, d2 = random_directions(probe, theta[0], 2, seed, normalization, ignore)
        meta.update(directions="random", seed=seed, normalization=normalization, ignore=ignore)
    else:
        given = weight_sets(directions, 2, "directions")
        d1, d2 = (probe.direction(d, what) for what, d in given.items())
        meta.update(directions="given", normalization=None, ignore=None)
    zero = torch.zeros_like(buffers[0])
    return _surface(
        probe,
        geometry.axis(xmin, xmax, nx),
        geometry.axis(ymin, ymax, ny),
        geometry.plane_coefficients,
        (torch.stack([theta[0], d1, d2]), torch.stack([buffers[0], zero, zero])),
        **meta,
    )


def bilinear(
    model: nn.Module,
    corners: Sequence[WeightsLike],
    data: Any,
    *,
    resolution: Resolution = 21,
    **options: Unpack[ProbeOptions],
) -> SurfaceResult:
    """Loss over θ(α, β) = β[α θ_1 + (1 − α) θ_2] + (1 − β)[α θ_3 + (1 − α) θ_4] for corners
    (θ_1, θ_2, θ_3, θ_4) (appendix A.1); x = α, y = β = linspace(0, 1); ``loss[j, i]`` at
    (α_i, β_j), so loss[-1, -1] is θ_1, loss[-1, 0] θ_2, loss[0, -1] θ_3, loss[0, 0] θ_4.

    Shared keyword options: :class:`ProbeOptions`.
    """
    sets = weight_sets(corners, 4, "corners")
    return _patch("bilinear", model, sets, data, resolution, options)


def barycentric(
    model: nn.Module,
    vertices: Sequence[WeightsLike],
    data: Any,
    *,
    resolution: Resolution = 21,
    **options: Unpack[ProbeOptions],
) -> SurfaceResult:
    """Loss over θ(α, β) = θ_0 + α[β d_1 + (1 − β) d_2], d_k = θ_k − θ_0 for vertices
    (θ_0, θ_1, θ_2) (appendix A.1); x = α, y = β = linspace(0, 1); column α = 0 is θ_0,
    loss[-1, -1] is θ_1 and loss[0, -1] is θ_2.

    Shared keyword options: :class:`ProbeOptions`.
    """
    sets = weight_sets(vertices, 3, "vertices")
    return _patch("barycentric", model, sets, data, resolution, options)
