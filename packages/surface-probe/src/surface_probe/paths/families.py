"""Path families between two weight vectors θ_a, θ_b ∈ R^d, t ∈ [0, 1].

Every family is linear in its anchors: θ(t) = Σ_k c_k(t) A_k with anchors A = (θ_a, θ_b, w_1..w_K),
the endpoints fixed and w_1..w_K free.  The coefficient rows c(t) are

- ``linear``:    θ(t) = (1 − t) θ_a + t θ_b                                       (K = 0);
- ``fourier``:   θ(t) = (1 − t) θ_a + t θ_b + Σ_{n=1}^{N} b_n sin(nπt)           (Yu & Morozov,
  w_n = b_n, N = 10 by default; sin(nπt) is set to exactly 0 at t = 0 and t = 1);
- ``bezier``:    θ(t) = Σ_{k=0}^{n} C(n, k) t^k (1 − t)^{n−k} w_k with w_0 = θ_a, w_n = θ_b
  (Garipov et al., n − 1 bends);
- ``polychain``: piecewise linear through θ_a, w_1, ..., w_K, θ_b with knots t_i = i/(K + 1);
- ``beads``:     piecewise linear through the same nodes with knots at the cumulative chord
  length, t_i = Σ_{j<i} ‖ν_{j+1} − ν_j‖ / Σ_j ‖ν_{j+1} − ν_j‖ (the strings of DSS and NEB).

At t = 0 and t = 1 the coefficient row is (1, 0, ...) and (0, 1, 0, ...), so the path returns its
endpoints bitwise.  Under ``bn="interpolate"`` the floating buffers move as
(1 − t) buf_a + t buf_b.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal, TypeAlias

import numpy as np
import torch
from torch import Tensor

from surface_probe.results import load_arrays, save_arrays

__all__ = ["KINDS", "Kind", "Path", "as_ts"]

Kind: TypeAlias = Literal["linear", "fourier", "bezier", "polychain", "beads"]
KINDS: tuple[str, ...] = ("linear", "fourier", "bezier", "polychain", "beads")


def as_ts(ts: Sequence[float] | np.ndarray | Tensor, what: str = "ts") -> Tensor:
    """Parameter values as a float64 (T,) tensor, checked to lie in [0, 1]."""
    t = torch.as_tensor(np.asarray(ts, dtype=np.float64)).reshape(-1)
    if t.numel() == 0 or not bool(((t >= 0) & (t <= 1)).all()):
        raise ValueError(f"{what} must be a non-empty sequence of numbers in [0, 1]")
    return t


def _hats(ts: Tensor, knots: Tensor) -> Tensor:
    """(T, K + 2) hat-function weights of the nodes at ``knots`` (0 = t_0 < ... < t_{K+1} = 1)."""
    seg = torch.searchsorted(knots, ts, right=True).clamp(1, knots.numel() - 1) - 1
    left, right = knots[seg], knots[seg + 1]
    s = ((ts - left) / (right - left)).clamp(0.0, 1.0)
    out = torch.zeros(ts.numel(), knots.numel(), dtype=torch.float64)
    rows = torch.arange(ts.numel())
    out[rows, seg] = 1.0 - s
    out[rows, seg + 1] += s
    return out


@dataclass(frozen=True, eq=False)
class Path:
    """A path θ(t) = Σ_k c_k(t) A_k: endpoints ``ends`` (2, d) and free anchors ``free`` (K, d).

    ``buffers`` (2, buffer_dim) holds the endpoints' floating buffers (BatchNorm statistics), used
    only under ``bn="interpolate"``.  Paths are immutable; fitting returns a new one.
    """

    kind: Kind
    ends: Tensor
    free: Tensor
    buffers: Tensor

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        if self.ends.ndim != 2 or self.ends.shape[0] != 2:
            raise ValueError(f"ends must have shape (2, dim), got {tuple(self.ends.shape)}")
        if self.free.ndim != 2 or self.free.shape[1] != self.ends.shape[1]:
            raise ValueError(
                f"free anchors must have shape (K, {self.ends.shape[1]}), "
                f"got {tuple(self.free.shape)}"
            )
        if self.kind == "linear" and self.free.shape[0]:
            raise ValueError("a linear path has no free anchors")

    @property
    def dim(self) -> int:
        return int(self.ends.shape[1])

    def with_free(self, free: Tensor) -> Path:
        """The same path with other free anchors (detached)."""
        return replace(self, free=free.detach().clone())

    def nodes(self) -> Tensor:
        """Chain nodes (θ_a, w_1, ..., w_K, θ_b) as (K + 2, d) (for polychain/beads/plots)."""
        return torch.cat([self.ends[:1], self.free, self.ends[1:]])

    def knots(self, free: Tensor | None = None) -> Tensor:
        """Knots of a chain's nodes: uniform for polychain, chord-length for beads."""
        k = (self.free if free is None else free).shape[0]
        if self.kind == "polychain":
            return torch.linspace(0.0, 1.0, k + 2, dtype=torch.float64)
        nodes = torch.cat([self.ends[:1], self.free if free is None else free, self.ends[1:]])
        nodes = nodes.detach().double()
        steps = torch.linalg.vector_norm(nodes[1:] - nodes[:-1], dim=1)
        cum = torch.cat([torch.zeros(1, dtype=torch.float64), steps.cumsum(0)])
        total = float(cum[-1])
        return cum / total if total > 0 else torch.linspace(0.0, 1.0, k + 2, dtype=torch.float64)

    def coefficients(self, ts: Tensor, free: Tensor | None = None) -> Tensor:
        """Float64 coefficient rows (T, 2 + K) over the anchors (θ_a, θ_b, w_1..w_K)."""
        t = ts.to(torch.float64).reshape(-1, 1)
        k = self.free.shape[0]
        line = torch.cat([1.0 - t, t], dim=1)
        if self.kind == "linear":
            return line
        if self.kind == "fourier":
            n = torch.arange(1, k + 1, dtype=torch.float64)
            waves = torch.sin(math.pi * n * t)
            waves = torch.where((t == 0) | (t == 1), torch.zeros_like(waves), waves)
            return torch.cat([line, waves], dim=1)
        if self.kind == "bezier":
            deg = k + 1
            j = torch.arange(deg + 1, dtype=torch.float64)
            binom = torch.tensor([math.comb(deg, int(i)) for i in j], dtype=torch.float64)
            bern = binom * t**j * (1.0 - t) ** (deg - j)
            return torch.cat([bern[:, :1], bern[:, -1:], bern[:, 1:-1]], dim=1)
        hats = _hats(ts.to(torch.float64).reshape(-1), self.knots(free))
        return torch.cat([hats[:, :1], hats[:, -1:], hats[:, 1:-1]], dim=1)

    def points(self, ts: Tensor, free: Tensor | None = None) -> Tensor:
        """θ(t) for every t as (T, d); differentiable in ``free`` (default: this path's anchors)."""
        w = self.free if free is None else free
        c = self.coefficients(ts, w).to(self.ends.device, self.ends.dtype)
        return c[:, :2] @ self.ends + c[:, 2:] @ w if w.shape[0] else c @ self.ends

    def point_buffers(self, ts: Tensor) -> Tensor:
        """Buffers (1 − t) buf_a + t buf_b for every t as (T, buffer_dim)."""
        t = ts.to(torch.float64).reshape(-1, 1)
        return torch.cat([1.0 - t, t], dim=1).to(self.buffers.dtype) @ self.buffers

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the path atomically to an ``.npz`` file (bfloat16 stored exactly as float32)."""
        tensors = {k: getattr(self, k).detach().cpu() for k in ("ends", "free", "buffers")}
        arrays = {
            k: (t.float() if t.dtype == torch.bfloat16 else t).numpy() for k, t in tensors.items()
        }
        dtypes = {k: str(t.dtype).removeprefix("torch.") for k, t in tensors.items()}
        save_arrays(path, arrays, {"kind": self.kind, "class": "Path", "dtypes": dtypes})

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Path:
        """Read a path written by :meth:`save`."""
        arrays, meta = load_arrays(path)
        if meta.get("class") != "Path":
            raise ValueError(f"{path} does not hold a Path")
        dtypes = meta.get("dtypes", {})
        tensors = {
            k: torch.from_numpy(arrays[k]).to(getattr(torch, dtypes.get(k, str(arrays[k].dtype))))
            for k in ("ends", "free", "buffers")
        }
        return cls(kind=meta["kind"], **tensors)
