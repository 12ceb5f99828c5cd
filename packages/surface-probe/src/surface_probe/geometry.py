"""Pure geometry on flat parameter vectors: the coefficient maps of lines, bilinear and
barycentric patches and planes, random directions with filter normalization, and the principal
directions of a trajectory.

Every interpolation here is an affine combination of K anchor vectors,

    θ(p) = Σ_k c_k(p) θ_k,    Σ_k c_k(p) = 1 for interpolations,

so one routine, :func:`combine`, builds every point from a coefficient matrix C (P, K) and the
stacked anchors (K, dim).  The coefficients are formed in float64 and are exactly 0 or 1 at the
anchors, so α = 0 and α = 1 (or a corner, or a vertex) reproduce the anchor bit for bit — never
θ_a + α(θ_b − θ_a), which misses θ_b by a rounding error.

Grids are built with ``linspace`` (no accumulated float steps) and flattened with y outer and x
inner: flat index k = j·nx + i is the point (x[i], y[j]), so ``values.reshape(ny, nx)[j, i]``
belongs to (x[i], y[j]).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, NamedTuple

import numpy as np
import torch
from torch import Tensor

__all__ = [
    "Ignore",
    "Normalization",
    "TrajectoryPCA",
    "axis",
    "barycentric_coefficients",
    "bilinear_coefficients",
    "combine",
    "grid",
    "line_coefficients",
    "normalize_direction",
    "normalize_tensor",
    "plane_coefficients",
    "random_direction_vector",
    "trajectory_pca",
]

Normalization = Literal["filter", "layer"] | None
Ignore = Literal["biasbn"] | None

_NORMALIZATIONS = ("filter", "layer", None)
_IGNORES = ("biasbn", None)


def axis(lo: float, hi: float, n: int) -> np.ndarray:
    """``n`` evenly spaced float64 coordinates from ``lo`` to ``hi`` inclusive (``linspace``)."""
    if n < 1:
        raise ValueError(f"a grid axis needs at least 1 point, got resolution {n}")
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ValueError(f"grid bounds must be finite, got ({lo}, {hi})")
    return np.linspace(float(lo), float(hi), int(n), dtype=np.float64)


def grid(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flatten the grid x × y with y outer: returns (xs, ys), each of length len(y)·len(x),
    with xs[j·nx + i] = x[i] and ys[j·nx + i] = y[j]."""
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    return np.tile(x, y.size), np.repeat(y, x.size)


def _as_column(values: np.ndarray | Sequence[float] | Tensor) -> Tensor:
    return torch.as_tensor(np.asarray(values, dtype=np.float64).reshape(-1, 1))


def line_coefficients(alphas: np.ndarray | Sequence[float]) -> Tensor:
    """C (P, 2) for θ(α) = (1 − α) θ_a + α θ_b."""
    a = _as_column(alphas)
    return torch.cat([1.0 - a, a], dim=1)


def bilinear_coefficients(
    alphas: np.ndarray | Sequence[float], betas: np.ndarray | Sequence[float]
) -> Tensor:
    """C (P, 4) for θ(α, β) = β[α θ_1 + (1 − α) θ_2] + (1 − β)[α θ_3 + (1 − α) θ_4]
    (paper appendix A.1, eqs. 3–5); α, β are paired point coordinates of equal length."""
    a, b = _as_column(alphas), _as_column(betas)
    _check_paired(a, b)
    return torch.cat([b * a, b * (1.0 - a), (1.0 - b) * a, (1.0 - b) * (1.0 - a)], dim=1)


def barycentric_coefficients(
    alphas: np.ndarray | Sequence[float], betas: np.ndarray | Sequence[float]
) -> Tensor:
    """C (P, 3) for θ(α, β) = θ_0 + α[β d_1 + (1 − β) d_2], d_k = θ_k − θ_0 (appendix A.1,
    eqs. 6–8), written as (1 − α) θ_0 + αβ θ_1 + α(1 − β) θ_2 so vertices are exact."""
    a, b = _as_column(alphas), _as_column(betas)
    _check_paired(a, b)
    return torch.cat([1.0 - a, a * b, a * (1.0 - b)], dim=1)


def plane_coefficients(
    xs: np.ndarray | Sequence[float], ys: np.ndarray | Sequence[float]
) -> Tensor:
    """C (P, 3) for θ(x, y) = θ_0 + x d_1 + y d_2 with anchors (θ_0, d_1, d_2)."""
    x, y = _as_column(xs), _as_column(ys)
    _check_paired(x, y)
    return torch.cat([torch.ones_like(x), x, y], dim=1)


def _check_paired(a: Tensor, b: Tensor) -> None:
    if a.shape != b.shape:
        raise ValueError(
            f"paired coordinates must have equal length, got {a.shape[0]} and {b.shape[0]}"
        )


def combine(coefficients: Tensor, anchors: Tensor) -> Tensor:
    """Points θ_p = Σ_k C[p, k] anchors[k]: (P, K) × (K, dim) → (P, dim) in the anchors' dtype
    and device, accumulated in float32 or wider (bf16/fp16 anchors are combined in float32).

    Each point is accumulated on its own, term by term in anchor order (elementwise, not a
    matrix product, whose BLAS blocking makes a row's rounding depend on the other rows): a
    point's value does not depend on which points share its chunk, so probes sharded over
    torch.distributed ranks equal one process bitwise. A 0/1 row returns its anchor exactly
    (0 + 1·a + 0·b = a in IEEE arithmetic). If some anchor holds inf/nan, terms with
    C[p, k] = 0 are skipped rather than multiplied (0·inf = nan), so that anchor never poisons
    points that do not use it."""
    if anchors.ndim != 2 or coefficients.ndim != 2 or coefficients.shape[1] != anchors.shape[0]:
        raise ValueError(
            f"coefficients {tuple(coefficients.shape)} do not match anchors {tuple(anchors.shape)}"
        )
    wide = torch.promote_types(anchors.dtype, torch.float32)
    c = coefficients.to(device=anchors.device, dtype=wide)
    a = anchors.to(wide)
    finite = bool(torch.isfinite(a).all())
    out = torch.zeros(c.shape[0], a.shape[1], dtype=wide, device=a.device)
    for k in range(a.shape[0]):
        ck = c[:, k : k + 1]
        term = ck * a[k]
        out += term if finite else torch.where(ck != 0, term, 0.0)
    return out.to(anchors.dtype)


def normalize_tensor(
    direction: Tensor,
    weight: Tensor,
    *,
    normalization: Normalization = "filter",
    ignore: Ignore = "biasbn",
) -> Tensor:
    """Rescale one tensor of a direction to the scale of the matching weight tensor.

    * ``"filter"`` (Li et al. 2018): each output filter — slice ``[i]`` along dim 0 — becomes
      d_i · ‖θ_i‖ / ‖d_i‖.  A 1-D tensor counts as a single filter.
    * ``"layer"``: the whole tensor becomes d · ‖θ‖ / ‖d‖.
    * ``None``: unchanged.

    With ``ignore="biasbn"`` 1-D tensors (biases, BatchNorm affine parameters) are zeroed.
    A zero-norm slice of d stays zero (no division by zero); a zero-norm slice of θ gives zero.
    """
    _check_options(normalization, ignore)
    if direction.shape != weight.shape:
        raise ValueError(
            f"direction shape {tuple(direction.shape)} != weight shape {tuple(weight.shape)}"
        )
    if direction.ndim <= 1 and ignore == "biasbn":
        return torch.zeros_like(direction)
    if normalization is None:
        return direction.clone()
    if normalization == "filter" and direction.ndim >= 2:
        d = direction.reshape(direction.shape[0], -1)
        w = weight.reshape(weight.shape[0], -1).to(direction.dtype)
    else:
        d, w = direction.reshape(1, -1), weight.reshape(1, -1).to(direction.dtype)
    d_norm = torch.linalg.vector_norm(d, dim=1, keepdim=True)
    w_norm = torch.linalg.vector_norm(w, dim=1, keepdim=True)
    scale = torch.where(d_norm > 0, w_norm / torch.where(d_norm > 0, d_norm, 1.0), 0.0)
    return (d * scale).reshape(direction.shape)


def normalize_direction(
    direction: Tensor,
    theta: Tensor,
    shapes: Sequence[torch.Size],
    *,
    normalization: Normalization = "filter",
    ignore: Ignore = "biasbn",
) -> Tensor:
    """Apply :func:`normalize_tensor` to each tensor of the flat ``direction`` (dim,), split by
    ``shapes`` (in parameter order) against the matching tensors of the flat ``theta``."""
    _check_options(normalization, ignore)
    sizes = [int(np.prod(s, dtype=np.int64)) for s in shapes]
    if direction.shape != theta.shape or direction.ndim != 1 or sum(sizes) != direction.numel():
        raise ValueError(
            f"direction {tuple(direction.shape)} and theta {tuple(theta.shape)} must be flat "
            f"vectors of length {sum(sizes)}"
        )
    parts = [
        normalize_tensor(d.reshape(s), w.reshape(s), normalization=normalization, ignore=ignore)
        for d, w, s in zip(
            torch.split(direction, sizes), torch.split(theta, sizes), shapes, strict=True
        )
    ]
    return torch.cat([p.reshape(-1) for p in parts]) if parts else direction.clone()


def random_direction_vector(
    theta: Tensor,
    shapes: Sequence[torch.Size],
    *,
    normalization: Normalization = "filter",
    ignore: Ignore = "biasbn",
    generator: torch.Generator | None = None,
) -> Tensor:
    """A standard normal direction d ~ N(0, I) shaped like the flat ``theta``, normalized by
    :func:`normalize_direction`, returned on θ's device and dtype.

    The Gaussian is drawn on the generator's device in float64 and then cast, so a seed gives
    the same direction on every device and parameter dtype."""
    gen_device = generator.device if generator is not None else theta.device
    raw = torch.randn(theta.shape, generator=generator, device=gen_device, dtype=torch.float64)
    d = raw.to(device=theta.device, dtype=theta.dtype)
    return normalize_direction(d, theta, shapes, normalization=normalization, ignore=ignore)


def _check_options(normalization: object, ignore: object) -> None:
    if normalization not in _NORMALIZATIONS:
        raise ValueError(f"normalization must be 'filter', 'layer' or None, got {normalization!r}")
    if ignore not in _IGNORES:
        raise ValueError(f"ignore must be 'biasbn' or None, got {ignore!r}")


class TrajectoryPCA(NamedTuple):
    """Two principal directions of a trajectory and each step's coordinates in their plane."""

    directions: Tensor  # (2, dim), orthonormal
    explained_variance_ratio: np.ndarray  # (2,)
    coordinates: np.ndarray  # (T, 2): (θ_t − θ_ref) · d_k


def trajectory_pca(
    trajectory: Sequence[Tensor] | Tensor, reference: Tensor | None = None
) -> TrajectoryPCA:
    """Principal directions of M = [θ_t − θ_ref]_t (Li et al. 2018, θ_ref = the last point by
    default): the top two right singular vectors of M, with the share of ‖M‖²_F they explain."""
    m = torch.stack(list(trajectory)) if not isinstance(trajectory, Tensor) else trajectory
    if m.ndim != 2 or m.shape[0] < 2 or m.shape[1] < 2:
        raise ValueError(
            f"a trajectory needs at least 2 flat vectors of length >= 2, got shape {tuple(m.shape)}"
        )
    ref = m[-1] if reference is None else reference
    if ref.shape != m.shape[1:]:
        raise ValueError(f"reference shape {tuple(ref.shape)} != vector shape {tuple(m.shape[1:])}")
    diffs = (m - ref).to(torch.float64)
    _, s, vh = torch.linalg.svd(diffs, full_matrices=False)
    total = float((s**2).sum())
    dirs = vh[:2]
    ratio = (s[:2] ** 2).numpy() / total if total > 0 else np.zeros(2)
    coords = (diffs @ dirs.T).numpy()
    return TrajectoryPCA(dirs.to(m.dtype), ratio, coords)
