"""Results of path probes: a loss profile with every barrier, and a DSS string."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch

from surface_probe.paths.families import Path
from surface_probe.results import _Saveable

__all__ = ["PathResult", "StringResult"]


@dataclass
class PathResult(_Saveable):
    """Loss and metrics at θ(t_i) (arrays (T,)), the parameter distance between consecutive
    samples ``segment_lengths`` (T − 1,), and the barriers of the profile, with L_a = L(t_0) and
    L_b = L(t_T):

    - ``height``      H = max_i L(t_i)                               (Yu & Morozov);
    - ``lmc_barrier`` max_i [L(t_i) − ((1 − t_i) L_a + t_i L_b)]     (linear mode connectivity);
    - ``saddle``      max_i L(t_i) − max(L_a, L_b);
    - ``mean_loss``   Σ_i ℓ_i (L(t_i) + L(t_{i+1}))/2 / Σ_i ℓ_i      (length-weighted, trapezoid);
    - ``length``      Σ_i ℓ_i, ℓ_i = ‖θ(t_{i+1}) − θ(t_i)‖           (parameter units).
    """

    ts: np.ndarray
    loss: np.ndarray
    segment_lengths: np.ndarray
    height: float
    lmc_barrier: float
    saddle: float
    mean_loss: float
    length: float
    metrics: dict[str, np.ndarray] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    _arrays: ClassVar[tuple[str, ...]] = ("ts", "loss", "segment_lengths")
    _floats: ClassVar[tuple[str, ...]] = ("height", "lmc_barrier", "saddle", "mean_loss", "length")

    def barriers(self) -> dict[str, float]:
        """Every barrier by name."""
        return {name: float(getattr(self, name)) for name in self._floats}


@dataclass
class StringResult(_Saveable):
    """Dynamic String Sampling at ``level`` L0 (Freeman & Bruna, Algorithm 1).

    ``beads`` (n, d) runs from θ_a to θ_b, ``segment_max[i]`` is the largest sampled loss on the
    segment beads[i] → beads[i + 1], ``connected`` says every segment stayed ≤ L0, and
    ``normalized_length`` = Σ_i ‖beads[i+1] − beads[i]‖ / ‖θ_b − θ_a‖ (1 for a straight line).
    ``buffers`` (2, buffer_dim) are the endpoints' floating buffers.
    """

    connected: bool
    beads: np.ndarray
    segment_max: np.ndarray
    buffers: np.ndarray
    normalized_length: float
    level: float
    meta: dict[str, Any] = field(default_factory=dict)
    _arrays: ClassVar[tuple[str, ...]] = ("beads", "segment_max", "buffers")
    _floats: ClassVar[tuple[str, ...]] = ("connected", "normalized_length", "level")

    def __post_init__(self) -> None:
        self.connected = bool(self.connected)

    @property
    def path(self) -> Path:
        """The string as a bead-chain :class:`Path` (for profiles, NEB relaxation, plots)."""
        beads = torch.from_numpy(np.asarray(self.beads))
        return Path(
            kind="beads",
            ends=beads[[0, -1]].clone(),
            free=beads[1:-1].clone(),
            buffers=torch.from_numpy(np.asarray(self.buffers)),
        )
