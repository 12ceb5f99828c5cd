"""The trajectory-PCA plane of Li et al. (2018): the loss on the plane of a saved trajectory's
two principal directions, with the trajectory projected onto it.

For weights θ_1..θ_T and centre θ_c (the last point by default), d_1, d_2 are the top right
singular vectors of [θ_t − θ_c]_t (:func:`surface_probe.geometry.trajectory_pca`); the plane
θ_c + x d_1 + y d_2 is evaluated by :func:`surface_probe.plane` and the coordinates
(θ_t − θ_c)·d_k of every step are returned in ``meta["trajectory"]`` with the share of the
trajectory's variance the two directions explain in ``meta["explained_variance"]``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from surface_probe._checks import check_at_least
from surface_probe.geometry import trajectory_pca
from surface_probe.params import WeightsLike, WeightSpace
from surface_probe.probes import ProbeOptions, plane
from surface_probe.results import SurfaceResult

if sys.version_info >= (3, 11):  # only annotations use Unpack, never evaluated on 3.10 (PEP 563)
    from typing import Unpack

__all__ = ["trajectory_plane"]


def trajectory_plane(
    model: nn.Module,
    trajectory: Sequence[WeightsLike] | Tensor,
    data: Any,
    *,
    center: WeightsLike | None = None,
    margin: float = 0.25,
    resolution: int | tuple[int, int] = 21,
    **options: Unpack[ProbeOptions],
) -> SurfaceResult:
    """Loss on the trajectory's PCA plane around ``center`` (default: the trajectory's last point).

    ``trajectory``: weight sets (modules / state_dicts) or a (T, dim) stack of flat θ. The grid
    spans the projected trajectory plus ``margin`` of its extent on every side.
    """
    check_at_least(("margin", margin, 0.0))
    space = WeightSpace.of(model)
    if isinstance(trajectory, Tensor):
        steps = trajectory.detach()
        if steps.ndim != 2 or steps.shape[1] != space.dim:
            raise ValueError(f"trajectory must have shape (T, {space.dim}), got {steps.shape}")
        if center is None:
            center = space.params_dict(steps[-1].to(space.dtype))
    else:
        if len(trajectory) < 2:
            raise ValueError(f"trajectory needs at least 2 weight sets, got {len(trajectory)}")
        steps = torch.stack([space.params_vector(w) for w in trajectory])
        center = trajectory[-1] if center is None else center
    pca = trajectory_pca(steps, space.params_vector(center).to(steps.dtype))
    coords = pca.coordinates
    low, high = coords.min(axis=0), coords.max(axis=0)
    extent = float((high - low).max())
    if not extent > 0.0:
        raise ValueError("trajectory does not move: all its weight sets are equal")
    pad = margin * extent
    span = (float(low[0]) - pad, float(high[0]) + pad, float(low[1]) - pad, float(high[1]) + pad)
    result = plane(
        model,
        center,
        data,
        directions=list(pca.directions.to(space.dtype)),
        span=span,
        resolution=resolution,
        **options,
    )
    result.meta.update(
        directions="trajectory_pca",
        trajectory=coords.tolist(),
        explained_variance=pca.explained_variance_ratio.tolist(),
    )
    return result
