"""Building a :class:`Path` between two weight sets of one architecture."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor, nn

from surface_probe.params import WeightsLike, WeightSpace
from surface_probe.paths._common import endpoint
from surface_probe.paths.families import KINDS, Kind, Path

__all__ = ["DEFAULT_BENDS", "path"]

DEFAULT_BENDS: dict[str, int] = {
    "linear": 0,
    "fourier": 10,
    "bezier": 1,
    "polychain": 1,
    "beads": 1,
}


def _free(
    kind: str,
    space: WeightSpace,
    ends: Tensor,
    bends: int | Sequence[WeightsLike] | Tensor | None,
) -> Tensor:
    """Initial free anchors: given ones, else zeros (Fourier) or even points on the line."""
    if bends is None:
        bends = DEFAULT_BENDS[kind]
    if isinstance(bends, Tensor):
        if bends.ndim != 2 or bends.shape[1] != space.dim:
            raise ValueError(f"bends must have shape (K, {space.dim}), got {tuple(bends.shape)}")
        return bends.detach().to(ends.device, ends.dtype).clone()
    if isinstance(bends, int):
        if bends < 0 or (kind == "linear" and bends):
            raise ValueError(f"bends must be >= 0 (0 for kind='linear'), got {bends}")
        if kind == "fourier":
            return torch.zeros(bends, space.dim, dtype=ends.dtype, device=ends.device)
        s = torch.linspace(0.0, 1.0, bends + 2, dtype=torch.float64)[1:-1, None]
        return torch.cat([1.0 - s, s], dim=1).to(ends.dtype) @ ends
    if isinstance(bends, nn.Module | Mapping) or not isinstance(bends, Sequence):
        raise TypeError("bends must be an int, a (K, dim) tensor or a sequence of weight sets")
    if kind == "fourier":
        raise TypeError("Fourier bends are coefficients b_n: give an int or a (N, dim) tensor")
    return torch.stack([endpoint(space, w, f"bends[{k}]")[0] for k, w in enumerate(bends)])


def path(
    model: nn.Module,
    a: WeightsLike,
    b: WeightsLike,
    *,
    kind: Kind = "linear",
    bends: int | Sequence[WeightsLike] | Tensor | None = None,
) -> Path:
    """A path from θ_a to θ_b in ``model``'s weight space (``model`` is only read).

    ``bends``: the number of free anchors (Fourier terms N, Bezier bends n − 1, chain nodes), by
    default 10 for ``fourier`` and 1 otherwise; integer bends start on the straight line (Fourier
    coefficients at 0).  Or explicit anchors: a (K, dim) tensor, or weight sets (chains, Bezier).
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    space = WeightSpace.of(model)
    (ta, ba), (tb, bb) = endpoint(space, a, "a"), endpoint(space, b, "b")
    ends = torch.stack([ta, tb])
    return Path(
        kind=kind,
        ends=ends,
        free=_free(kind, space, ends, bends),
        buffers=torch.stack([ba, bb]).to(ends.dtype),
    )
