"""Curvature of the loss at any weight set: Hessian eigenpairs, trace and spectral density.

H = ∇²L(θ) of L(θ) = (1/N) Σ_b n_b ℓ(f(x_b; θ), y_b) over all of ``data`` (any number of
minibatches), applied matrix-free by forward-over-reverse Hessian-vector products
(:class:`surface_probe._objective.Objective`) and handed to the estimators of
:mod:`surface_probe.spectral`. Every result's ``meta`` records the BatchNorm policy (default: the
eval-mode network with the weight set's own running statistics), the data size, the differentiated
parameters and the number of Hessian-vector products.

Shared keyword options (:class:`CurvatureOptions`): ``loss_fn``, ``bn``, ``calibration``,
``params`` (parameter names or module prefixes: the Hessian block of that subset),
``cache_graph``, ``device``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict, TypeVar

import numpy as np
import torch
from torch import Tensor, nn

from surface_probe._objective import Objective
from surface_probe.evaluate import LossFn
from surface_probe.params import WeightsLike
from surface_probe.spectral import (
    Eigenpairs,
    SpectralDensity,
    TraceEstimate,
    hutchinson,
    hutchpp,
    lanczos_quadrature,
    top_eigenpairs,
)

if sys.version_info >= (3, 11):  # only annotations use Unpack, never evaluated on 3.10 (PEP 563)
    from typing import Unpack

__all__ = [
    "CurvatureAlong",
    "CurvatureOptions",
    "curvature_along",
    "hessian_density",
    "hessian_eigenpairs",
    "hessian_trace",
]


class CurvatureOptions(TypedDict, total=False):
    """Keyword options of the curvature functions; every key is optional.

    loss_fn: ``loss_fn(outputs, targets)`` → batch mean; default cross-entropy.
    bn: "auto" (default: "frozen" with BatchNorm, else "none"), "frozen", "recompute", "batch".
    calibration: batches for ``bn="recompute"`` (default: data).
    params: parameter names or module prefixes to differentiate (default: all parameters).
    cache_graph: keep the gradient's graph between products at a point (default: one-batch data).
    device: where to compute (default: the model's device).
    """

    loss_fn: LossFn | None
    bn: str
    calibration: Any
    params: Sequence[str] | None
    cache_graph: bool | None
    device: torch.device | str | None


def _objective(
    model: nn.Module, weights: WeightsLike | Tensor | None, data: Any, options: CurvatureOptions
) -> Objective:
    unknown = set(options) - set(CurvatureOptions.__annotations__)
    if unknown:
        raise TypeError(f"unexpected keyword argument(s) {sorted(unknown)}")
    obj = Objective(model, data, **options)
    if weights is not None:
        obj.at(weights)
    return obj


R = TypeVar("R", Eigenpairs, TraceEstimate, SpectralDensity)


def _at_weights(
    model: nn.Module,
    weights: WeightsLike | Tensor | None,
    data: Any,
    options: CurvatureOptions,
    estimate: Callable[[Objective], R],
) -> R:
    """Run ``estimate`` on the objective at ``weights``; record the objective's provenance."""
    obj = _objective(model, weights, data, options)
    result = estimate(obj)
    result.meta.update(obj.meta())
    return result


def hessian_eigenpairs(
    model: nn.Module,
    data: Any,
    *,
    weights: WeightsLike | Tensor | None = None,
    k: int = 1,
    which: str = "LA",
    tol: float = 1e-10,
    **options: Unpack[CurvatureOptions],
) -> Eigenpairs:
    """Top-k eigenvalues (descending) and unit eigenvectors of H at ``weights`` (default: model's).

    ``weights``: a module or state_dict of the architecture, or a flat θ (e.g. a probe point).
    """
    return _at_weights(
        model,
        weights,
        data,
        options,
        lambda obj: top_eigenpairs(obj.hvps, obj.point, k, which=which, tol=tol),
    )


def hessian_trace(
    model: nn.Module,
    data: Any,
    *,
    weights: WeightsLike | Tensor | None = None,
    method: str = "hutchinson",
    rtol: float = 1e-2,
    min_samples: int = 20,
    max_samples: int = 1000,
    num_hvps: int = 60,
    seed: int = 0,
    **options: Unpack[CurvatureOptions],
) -> TraceEstimate:
    """tr(H): "hutchinson" (stops at a 95 % interval half-width ≤ rtol·|tr|, reported in
    ``low``/``high``) or "hutch++" with ``num_hvps`` products."""
    if method not in ("hutchinson", "hutch++"):
        raise ValueError(f"method must be 'hutchinson' or 'hutch++', got {method!r}")

    def estimate(obj: Objective) -> TraceEstimate:
        if method == "hutch++":
            return hutchpp(obj.hvps, obj.point, num_hvps, seed=seed)
        kw = {"min_samples": min_samples, "max_samples": max_samples, "seed": seed}
        return hutchinson(obj.hvps, obj.point, rtol=rtol, **kw)

    return _at_weights(model, weights, data, options, estimate)


def hessian_density(
    model: nn.Module,
    data: Any,
    *,
    weights: WeightsLike | Tensor | None = None,
    steps: int = 30,
    starts: int = 10,
    seed: int = 0,
    **options: Unpack[CurvatureOptions],
) -> SpectralDensity:
    """Spectral density of H by stochastic Lanczos quadrature (``starts`` × ``steps`` products)."""
    return _at_weights(
        model,
        weights,
        data,
        options,
        lambda obj: lanczos_quadrature(obj.hvps, obj.point, steps=steps, starts=starts, seed=seed),
    )


@dataclass
class CurvatureAlong:
    """Top eigenvalue and Hutchinson trace (with 95 % interval) at each of P points."""

    top_eigenvalue: np.ndarray
    trace: np.ndarray
    trace_low: np.ndarray
    trace_high: np.ndarray
    loss: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)


def curvature_along(
    model: nn.Module,
    points: Tensor | Sequence[WeightsLike],
    data: Any,
    *,
    rtol: float = 5e-2,
    min_samples: int = 20,
    max_samples: int = 200,
    seed: int = 0,
    **options: Unpack[CurvatureOptions],
) -> CurvatureAlong:
    """Curvature at the points of a probe: ``points`` is (P, dim) (rows θ, e.g. the points of a
    line at α = 0, the barrier's peak and α = 1) or a sequence of modules / state_dicts.

    Every point gets the same Hutchinson seed (common random numbers along the path). A point
    where the curvature is not finite (nan/inf loss) gets nan and does not affect the others."""
    obj = _objective(model, None, data, options)
    rows: list[Any] = list(points.detach()) if isinstance(points, Tensor) else list(points)
    if not rows:
        raise ValueError("points is empty")
    curvature, loss = [], []  # rows of (top eigenvalue, trace, low, high)
    for row in rows:
        obj.at(row)
        try:
            top = float(top_eigenpairs(obj.hvps, obj.point, 1).values[0])
            est = hutchinson(
                obj.hvps,
                obj.point,
                rtol=rtol,
                min_samples=min_samples,
                max_samples=max_samples,
                seed=seed,
            )
            curvature.append([top, est.value, est.low, est.high])
        except FloatingPointError:
            curvature.append([float("nan")] * 4)
        loss.append(obj.loss())
    meta = {**obj.meta(), "rtol": rtol, "seed": seed, "num_hvps": obj.hvp_count}
    table = np.array(curvature, dtype=np.float64)
    return CurvatureAlong(table[:, 0], table[:, 1], table[:, 2], table[:, 3], np.array(loss), meta)
