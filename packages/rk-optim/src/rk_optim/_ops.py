"""In-place list operations with one multi-tensor (``torch._foreach_*``) and one for-loop path.

Both paths run the same elementwise kernels per tensor, so they give the same numbers.
"""

from __future__ import annotations

import torch
from torch import Tensor


def copy_(dst: list[Tensor], src: list[Tensor], foreach: bool) -> None:
    """dst ← src."""
    if foreach:
        torch._foreach_copy_(dst, src)
    else:
        for d, s in zip(dst, src, strict=True):
            d.copy_(s)


def add_(dst: list[Tensor], src: list[Tensor], alpha: float, foreach: bool) -> None:
    """dst ← dst + alpha · src."""
    if foreach:
        torch._foreach_add_(dst, src, alpha=alpha)
    else:
        for d, s in zip(dst, src, strict=True):
            d.add_(s, alpha=alpha)


def neg_(xs: list[Tensor], foreach: bool) -> None:
    """xs ← −xs."""
    if foreach:
        torch._foreach_neg_(xs)
    else:
        for x in xs:
            x.neg_()


def lerp_(dst: list[Tensor], end: list[Tensor], weight: float, foreach: bool) -> None:
    """dst ← dst + weight · (end − dst); exact when dst == end."""
    if foreach:
        torch._foreach_lerp_(dst, end, weight)
    else:
        for d, e in zip(dst, end, strict=True):
            d.lerp_(e, weight)


def add_into(
    out: list[Tensor], a: list[Tensor], b: list[Tensor], alpha: float, foreach: bool
) -> None:
    """out ← a + alpha · b (the for-loop writes it in one pass with ``out=``)."""
    if foreach:
        torch._foreach_copy_(out, a)
        torch._foreach_add_(out, b, alpha=alpha)
    else:
        for o, x, y in zip(out, a, b, strict=True):
            torch.add(x, y, alpha=alpha, out=o)
