"""Matrix-free spectral estimators for a symmetric operator H given only V ↦ V H, the products
with a block of row vectors V (k, n) (a model's Hessian: k Hessian-vector products in one pass).

- Top-k eigenpairs: implicitly restarted Lanczos (ARPACK through ``scipy.sparse.linalg.eigsh``).
- Trace, Hutchinson: t_i = z_iᵀ H z_i with Rademacher z_i, E[t_i] = tr(H), drawn in blocks of
  ``block``. Once at least ``min_samples`` are drawn, it stops after the first block at which the
  half-width of the Student-t interval t̄ ± t_{0.975, n−1} s/√n is ≤ rtol·|t̄| + atol (or at
  ``max_samples``); the interval is reported.
- Trace, Hutch++ (Meyer et al. 2021): with m products split in thirds, Q = orth(H S),
  tr(H) ≈ tr(QᵀHQ) + (3/m) Σ gᵢᵀ(I−QQᵀ)H(I−QQᵀ)gᵢ.
- Spectral density, stochastic Lanczos quadrature (Ubaru et al. 2017): for each unit Rademacher
  start v = z/√n, m Lanczos steps give T = U diag(θ) Uᵀ and the Gauss rule
  Σ_j U_{0j}² θ_jᵏ = vᵀHᵏv for k ≤ 2m − 1, whose mean over starts is unbiased for tr(Hᵏ)/n.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from scipy.special import stdtrit
from torch import Tensor

from surface_probe._checks import count

__all__ = [
    "Eigenpairs",
    "SpectralDensity",
    "TraceEstimate",
    "hutchinson",
    "hutchpp",
    "lanczos_quadrature",
    "top_eigenpairs",
]

MatMat = Callable[[Tensor], Tensor]


@dataclass
class Eigenpairs:
    """Eigenvalues (k,) in descending order, unit eigenvectors (k, dim), products used."""

    values: np.ndarray
    vectors: Tensor
    num_hvps: int
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class TraceEstimate:
    """tr(H) estimate, its 95 % interval (Hutchinson) and the number of products used."""

    value: float
    low: float
    high: float
    std_error: float
    num_samples: int
    num_hvps: int
    method: str
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class SpectralDensity:
    """Gauss-quadrature nodes and weights (starts, steps); each row's weights sum to 1."""

    nodes: np.ndarray
    weights: np.ndarray
    dim: int
    num_hvps: int
    meta: dict[str, Any] = field(default_factory=dict)

    def moment(self, k: int) -> tuple[float, float]:
        """Estimate of tr(Hᵏ)/n and its standard error over the starting vectors."""
        per_start = (self.weights * self.nodes**k).sum(axis=1)
        err = per_start.std(ddof=1) / np.sqrt(len(per_start)) if len(per_start) > 1 else np.inf
        return float(per_start.mean()), float(err)

    def density(self, grid: np.ndarray, width: float | None = None) -> np.ndarray:
        """Gaussian-smoothed density φ(t) = mean_l Σ_j w_lj N(t; θ_lj, width²) on ``grid``."""
        if width is None:
            span = float(self.nodes.max() - self.nodes.min())
            width = max(span, 1e-12) / 100
        diff = (np.asarray(grid)[:, None, None] - self.nodes[None]) / width
        kernel = np.exp(-0.5 * diff**2) / (width * np.sqrt(2 * np.pi))
        return np.asarray((kernel * self.weights[None]).sum(axis=2).mean(axis=1))


def _rademacher(dim: int, gen: torch.Generator, like: Tensor) -> Tensor:
    bits = torch.randint(0, 2, (dim,), generator=gen)
    return (2 * bits - 1).to(like.dtype).to(like.device)


def top_eigenpairs(
    matmat: MatMat, like: Tensor, k: int = 1, *, which: str = "LA", tol: float = 1e-10
) -> Eigenpairs:
    """k extreme eigenpairs of H (``which``: "LA" largest algebraic, "LM" largest magnitude).

    ``like`` fixes the dimension, dtype and device of the vectors passed to ``matmat``.
    """
    from scipy.sparse.linalg import LinearOperator, eigsh  # seconds to import: only when used

    dim = like.numel()
    if not 1 <= k < dim:
        raise ValueError(f"k must satisfy 1 <= k < dim = {dim}, got {k}")
    if which not in ("LA", "LM"):
        raise ValueError(f"which must be 'LA' or 'LM', got {which!r}")
    count = 0

    def apply(v: np.ndarray) -> np.ndarray:
        nonlocal count
        count += 1
        row = torch.as_tensor(v.reshape(1, -1), dtype=like.dtype, device=like.device)
        return matmat(row)[0].detach().cpu().to(torch.float64).numpy()

    op = LinearOperator((dim, dim), matvec=apply, dtype=np.float64)
    start = np.random.default_rng(0).standard_normal(dim)
    values, vectors = eigsh(op, k=k, which=which, tol=tol, v0=start)
    order = np.argsort(values)[::-1] if which == "LA" else np.argsort(-np.abs(values))
    vecs = torch.as_tensor(vectors[:, order].T.copy(), dtype=like.dtype, device=like.device)
    return Eigenpairs(values[order], vecs, count, {"which": which, "tol": tol})


def hutchinson(
    matmat: MatMat,
    like: Tensor,
    *,
    rtol: float = 1e-2,
    atol: float = 0.0,
    min_samples: int = 20,
    max_samples: int = 1000,
    block: int = 10,
    seed: int = 0,
) -> TraceEstimate:
    """Hutchinson's trace estimate with the variance-based stopping rule of the module docstring."""
    if not 2 <= min_samples <= max_samples:
        raise ValueError(f"need 2 <= min_samples <= max_samples, got {min_samples}, {max_samples}")
    count(block, "block", 1)
    for name, tol in (("rtol", rtol), ("atol", atol)):
        if not tol >= 0.0:
            raise ValueError(f"{name} must be >= 0 (0: run to max_samples), got {tol}")
    gen = torch.Generator().manual_seed(seed)
    samples: list[float] = []
    mean = half = err = 0.0
    while len(samples) < max_samples:
        k = min(block, max_samples - len(samples))
        z = torch.stack([_rademacher(like.numel(), gen, like) for _ in range(k)])
        samples += (z * matmat(z)).sum(dim=1).tolist()
        n = len(samples)
        if n < min_samples:
            continue
        mean = float(np.mean(samples))
        err = float(np.std(samples, ddof=1) / np.sqrt(n))
        half = float(stdtrit(n - 1, 0.975)) * err
        if half <= rtol * abs(mean) + atol:
            break
    meta = {"rtol": rtol, "atol": atol, "min_samples": min_samples, "block": block, "seed": seed}
    n = len(samples)
    return TraceEstimate(mean, mean - half, mean + half, err, n, n, "hutchinson", meta)


def hutchpp(matmat: MatMat, like: Tensor, num_hvps: int = 30, *, seed: int = 0) -> TraceEstimate:
    """Hutch++ trace estimate with ``num_hvps`` (a multiple of 3) products; no interval."""
    if num_hvps < 3 or num_hvps % 3:
        raise ValueError(f"num_hvps must be a positive multiple of 3, got {num_hvps}")
    m = num_hvps // 3
    gen = torch.Generator().manual_seed(seed)

    def apply_columns(cols: Tensor) -> Tensor:
        return matmat(cols.T.contiguous()).T

    draws = torch.stack([_rademacher(like.numel(), gen, like) for _ in range(2 * m)], dim=1)
    q, _ = torch.linalg.qr(apply_columns(draws[:, :m]))
    exact = float((q * apply_columns(q)).sum())
    g = draws[:, m:]
    g = g - q @ (q.T @ g)
    residual = float((g * apply_columns(g)).sum()) / m
    value = exact + residual
    used = m + q.shape[1] + m
    return TraceEstimate(value, value, value, float("nan"), m, used, "hutch++", {"seed": seed})


class _Krylov:
    """One Lanczos run with full reorthogonalization: basis q_0.., coefficients α_j, β_j."""

    def __init__(self, start: Tensor) -> None:
        self.basis = [start / start.norm()]
        self.alphas: list[float] = []
        self.betas: list[float] = []

    def extend(self, w: Tensor, last: bool) -> bool:
        """Take w = H q_j; return False once the run is finished (last step or closed space)."""
        self.alphas.append(float(w @ self.basis[-1]))
        q = torch.stack(self.basis, dim=1)
        w = w - q @ (q.T @ w)
        w = w - q @ (q.T @ w)
        beta = float(w.norm())
        if last or beta <= 1e-12 * max(1.0, abs(self.alphas[-1])):
            return False
        self.betas.append(beta)
        self.basis.append(w / beta)
        return True

    def quadrature(self) -> tuple[np.ndarray, np.ndarray]:
        """Ritz values θ_j of T and squared first eigenvector components (the Gauss weights)."""
        tri = np.diag(self.alphas) + np.diag(self.betas, 1) + np.diag(self.betas, -1)
        nodes, vecs = np.linalg.eigh(tri)
        return nodes, vecs[0] ** 2


def lanczos_quadrature(
    matmat: MatMat, like: Tensor, *, steps: int = 30, starts: int = 10, seed: int = 0
) -> SpectralDensity:
    """Stochastic Lanczos quadrature: ``starts`` Rademacher starts, ``steps`` Lanczos steps each,
    run in lockstep (one block product per step for all unfinished starts).

    A start whose Krylov space closes early gets zero-weight padding nodes (at its last node).
    """
    if steps < 1 or starts < 1:
        raise ValueError(f"steps and starts must be >= 1, got {steps}, {starts}")
    gen = torch.Generator().manual_seed(seed)
    steps = min(steps, like.numel())
    nodes = np.zeros((starts, steps))
    weights = np.zeros((starts, steps))
    runs = [_Krylov(_rademacher(like.numel(), gen, like)) for _ in range(starts)]
    active = list(runs)
    for j in range(steps):
        products = matmat(torch.stack([run.basis[-1] for run in active]))
        active = [
            run for run, w in zip(active, products, strict=True) if run.extend(w, j == steps - 1)
        ]
        if not active:
            break
    used = 0
    for row, run in enumerate(runs):
        theta, tau = run.quadrature()
        used += len(theta)
        nodes[row, : len(theta)], weights[row, : len(theta)] = theta, tau
        nodes[row, len(theta) :] = theta[-1]
    meta = {"steps": steps, "starts": starts, "seed": seed}
    return SpectralDensity(nodes, weights, like.numel(), used, meta)
