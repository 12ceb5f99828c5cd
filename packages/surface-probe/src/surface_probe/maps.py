"""Maps of sets of solutions: kernel PCA of weights or of functions (Yu & Morozov).

Each solution s_i becomes a vector x_i: its flattened parameters θ_i (``space="weights"``) or its
outputs on a fixed probe set, f(X_probe; θ_i) flattened (``space="function"``, blind to unit
permutations and other reparameterisations). Kernel PCA with the RBF kernel

    k(x_i, x_j) = exp(−‖x_i − x_j‖² / (2σ²)),     2σ² = D (the vector length) by default,

embeds them in ``n_components`` dimensions (scikit-learn's ``KernelPCA``; the optional extra
``surface-probe[maps]``). The spread of group G around the common centroid c = mean_i x_i is
sqrt(mean_{i ∈ G} ‖x_i − c‖²), in the vector space and in the map.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from surface_probe.evaluate import Evaluator
from surface_probe.params import WeightsLike, WeightSpace

__all__ = ["SolutionMap", "solution_map"]


@dataclass
class SolutionMap:
    """Map coordinates (n, n_components), group labels (n,), per-group spreads, kernel details."""

    coordinates: np.ndarray
    groups: list[str]
    spread: dict[str, float]
    map_spread: dict[str, float]
    eigenvalues: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)


def _spreads(x: np.ndarray, groups: list[str]) -> dict[str, float]:
    centroid = x.mean(axis=0)
    labels = np.asarray(groups)
    return {
        g: float(np.sqrt(((x[labels == g] - centroid) ** 2).sum(axis=1).mean()))
        for g in dict.fromkeys(groups)
    }


def _function_vectors(
    model: nn.Module, solutions: Sequence[WeightsLike], probe: Tensor, bn: str
) -> np.ndarray:
    """Outputs of each solution on ``probe`` (eval mode; with BatchNorm each solution's own
    running statistics unless ``bn`` says otherwise)."""
    dummy = torch.zeros(len(probe), dtype=torch.long)
    policy = "interpolate" if bn == "auto" and WeightSpace.of(model).has_running_stats else bn
    ev = Evaluator(model, (probe, dummy), bn=policy, loss_fn=lambda out, _: out.sum())
    rows = []
    for s in solutions:
        bufs = ev.space.buffers_vector(s) if policy == "interpolate" else None
        out = ev.outputs(ev.space.params_vector(s), bufs)
        rows.append(out.reshape(-1).to(torch.float64).cpu().numpy())
    return np.stack(rows)


def solution_map(
    model: nn.Module,
    solutions: Sequence[WeightsLike],
    *,
    groups: Sequence[str] | None = None,
    space: str = "weights",
    probe: Tensor | None = None,
    n_components: int = 2,
    gamma: float | None = None,
    bn: str = "auto",
) -> SolutionMap:
    """Kernel-PCA map of ``solutions`` (modules or state_dicts of ``model``'s architecture).

    ``groups`` labels each solution (e.g. the optimizer); ``gamma`` = 1/(2σ²), default 1/D;
    ``probe`` (inputs) is required for ``space="function"``.
    """
    try:
        from sklearn.decomposition import KernelPCA
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "solution_map needs scikit-learn: pip install 'surface-probe[maps]'"
        ) from err
    if len(solutions) < 2:
        raise ValueError(f"solutions must hold at least 2 weight sets, got {len(solutions)}")
    labels = [str(g) for g in groups] if groups is not None else ["all"] * len(solutions)
    if len(labels) != len(solutions):
        raise ValueError(f"got {len(labels)} groups for {len(solutions)} solutions")
    if not 1 <= n_components <= len(solutions):
        raise ValueError(
            f"n_components must be between 1 and the {len(solutions)} solutions, got {n_components}"
        )
    if gamma is not None and not 0.0 < gamma < math.inf:
        raise ValueError(f"gamma must be a finite number > 0 (or None for 1/D), got {gamma}")
    if space == "weights":
        ws = WeightSpace.of(model)
        x = torch.stack([ws.params_vector(s) for s in solutions]).to(torch.float64).cpu().numpy()
    elif space == "function":
        if probe is None:
            raise ValueError("space='function' needs probe inputs (a fixed probe set)")
        x = _function_vectors(model, solutions, probe, bn)
    else:
        raise ValueError(f"space must be 'weights' or 'function', got {space!r}")
    bad = np.flatnonzero(~np.isfinite(x).all(axis=1))
    if bad.size:
        what = "weights" if space == "weights" else "outputs on the probe"
        raise ValueError(f"solutions[{bad[0]}] is not finite (nan/inf {what})")
    gamma = 1.0 / x.shape[1] if gamma is None else gamma
    kpca = KernelPCA(n_components=n_components, kernel="rbf", gamma=gamma)
    coords = np.asarray(kpca.fit_transform(x))
    meta = {"space": space, "kernel": "rbf", "gamma": gamma, "dim": int(x.shape[1])}
    return SolutionMap(
        coords, labels, _spreads(x, labels), _spreads(coords, labels), kpca.eigenvalues_, meta
    )
