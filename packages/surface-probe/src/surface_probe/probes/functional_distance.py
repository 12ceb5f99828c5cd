"""Functional distance between networks (paper §4.1): are two minima different functions?

    dist(θ_a, θ_b) = sqrt(1/N Σ_i ‖F(x_i, θ_a) − F(x_i, θ_b)‖²)

with F the softmax probabilities (``output="probs"``) or the logits, and the fraction of inputs
whose arg-max label differs.  The last output dimension holds the classes; all leading
dimensions index examples (e.g. language-model tokens).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from surface_probe._fingerprint import digest
from surface_probe.params import WeightsLike
from surface_probe.probes._arguments import alphas_axis
from surface_probe.probes._setup import OutputStats, Probe, ProbeOptions
from surface_probe.probes.lines import along_line
from surface_probe.results import FunctionalDistance, LineResult

if sys.version_info >= (3, 11):  # only annotations use Unpack, never evaluated on 3.10 (PEP 563)
    from typing import Unpack

__all__ = ["functional_distance", "functional_distance_line"]

_OUTPUTS = ("probs", "logits")


def _versus(probe: Probe, theta: Tensor, buffers: Tensor, output: str) -> OutputStats:
    """rms distance and disagreement of a point's outputs from those at (θ, buffers)."""
    if output not in _OUTPUTS:
        raise ValueError(f"output must be one of {_OUTPUTS}, got {output!r}")
    ref = probe.ev.outputs(theta, buffers)
    f = ref.reshape(-1, ref.shape[-1] if ref.ndim > 1 else 1).double()
    if output == "probs":
        f = f.softmax(dim=1)
    f_label = f.argmax(dim=1)

    def compare(out: Tensor) -> dict[str, float]:
        g = out.reshape(-1, out.shape[-1] if out.ndim > 1 else 1).double()
        if output == "probs":
            g = g.softmax(dim=1)
        rms = float(((f - g) ** 2).sum(dim=1).mean().sqrt())
        disagreement = float((f_label != g.argmax(dim=1)).double().mean())
        return {"rms": rms, "disagreement": disagreement}

    return OutputStats(("rms", "disagreement"), compare, f"{output}:{digest(theta, buffers)}")


def functional_distance(
    model: nn.Module,
    a: WeightsLike,
    b: WeightsLike,
    data: Any,
    *,
    output: str = "probs",
    **options: Unpack[ProbeOptions],
) -> FunctionalDistance:
    """dist(θ_a, θ_b) and the arg-max disagreement rate between the networks ``a`` and ``b``.

    Shared keyword options: :class:`ProbeOptions` (``loss_fn`` and ``metrics`` are evaluated at
    θ_b but not returned).
    """
    probe = Probe("functional_distance", model, data, options)
    theta, buffers = probe.weight_sets({"a": a, "b": b})
    versus_a = _versus(probe, theta[0], buffers[0], output)
    at_b = torch.tensor([[0.0, 1.0]], dtype=torch.float64)
    values = probe.run(at_b, theta, buffers, outputs=versus_a)
    return FunctionalDistance(
        rms=float(values["rms"][0]),
        disagreement=float(values["disagreement"][0]),
        meta=probe.meta(output=output),
    )


def functional_distance_line(
    model: nn.Module,
    a: WeightsLike,
    b: WeightsLike,
    data: Any,
    *,
    output: str = "probs",
    alphas: Sequence[float] | np.ndarray | None = None,
    steps: int = 21,
    **options: Unpack[ProbeOptions],
) -> LineResult:
    """Along θ(α) = (1 − α) θ_a + α θ_b: the loss, and the functional distance ("rms") and
    label disagreement ("disagreement") from θ_a to θ(α) (upper triangle of the paper's Table 1),
    from one load of each point.

    Shared keyword options: :class:`ProbeOptions`.
    """
    al = alphas_axis(alphas, steps)
    probe = Probe("functional_distance_line", model, data, options)
    theta, buffers = probe.weight_sets({"a": a, "b": b})
    versus_a = _versus(probe, theta[0], buffers[0], output)
    return along_line(probe, theta, buffers, al, versus_a, output=output)
