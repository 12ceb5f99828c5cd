"""Lines between two weight sets: θ(α) = (1 − α) θ_a + α θ_b (Goodfellow et al. 2015)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from surface_probe import geometry
from surface_probe.params import WeightsLike
from surface_probe.probes._arguments import alphas_axis
from surface_probe.probes._setup import OutputStats, Probe, ProbeOptions, split
from surface_probe.results import LineResult

if sys.version_info >= (3, 11):  # only annotations use Unpack, never evaluated on 3.10 (PEP 563)
    from typing import Unpack

__all__ = ["along_line", "line"]


def line(
    model: nn.Module,
    start: WeightsLike,
    end: WeightsLike,
    data: Any,
    *,
    alphas: Sequence[float] | np.ndarray | None = None,
    steps: int = 21,
    **options: Unpack[ProbeOptions],
) -> LineResult:
    """Loss along θ(α) = (1 − α) θ_start + α θ_end (any α range).

    ``alphas`` defaults to ``linspace(0, 1, steps)``; α = 0 and α = 1 are exactly the endpoints,
    buffers included.

    Shared keyword options: :class:`ProbeOptions`.
    """
    al = alphas_axis(alphas, steps)
    probe = Probe("line", model, data, options)
    theta, buffers = probe.weight_sets({"start": start, "end": end})
    return along_line(probe, theta, buffers, al)


def along_line(
    probe: Probe,
    theta: Tensor,
    buffers: Tensor,
    alphas: np.ndarray,
    outputs: OutputStats | None = None,
    **meta: Any,
) -> LineResult:
    """The line through the anchors θ = (θ_a, θ_b) (2, dim) at ``alphas``; ``meta["distance"]``
    is ‖θ_b − θ_a‖ in float64, the parameter length of α ∈ [0, 1]."""
    values = probe.run(geometry.line_coefficients(alphas), theta, buffers, outputs=outputs)
    loss, metrics = split(values, alphas.shape)
    distance = float(torch.linalg.vector_norm(theta[1].double() - theta[0].double()))
    return LineResult(
        alphas=alphas, loss=loss, metrics=metrics, meta=probe.meta(**meta, distance=distance)
    )
