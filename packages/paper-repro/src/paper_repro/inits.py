"""Weight initialisation schemes (appendix A.5 of the paper).

* ``"default"`` keeps the model's own initialisation.
* ``"normal(MEAN,STD)"`` — e.g. the paper's ``normal(-10,0.01)`` and ``normal(-1,1)`` — draws
  every parameter i.i.d. from N(MEAN, STD²): θ_i = MEAN + STD·z_i, z_i ~ N(0, 1). "Every parameter"
  means all of ``model.parameters()``: conv/linear weights and biases *and* BatchNorm's affine γ
  and β (the paper says "initial parameters"); buffers (BN running statistics) are left alone.
"""

from __future__ import annotations

import math
import re

import torch
from torch import nn

from .seeding import cpu_generator

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_NORMAL = re.compile(rf"^normal\(\s*({_NUMBER})\s*,\s*({_NUMBER})\s*\)$")


def parse_init(scheme: str) -> tuple[float, float] | None:
    """``None`` for ``"default"``, else ``(mean, std)`` of a ``"normal(mean,std)"`` scheme."""
    if scheme == "default":
        return None
    match = _NORMAL.match(scheme.strip()) if isinstance(scheme, str) else None
    if match is None:
        raise ValueError(
            f"unknown init scheme {scheme!r}; use 'default' or 'normal(MEAN,STD)', "
            "e.g. 'normal(-10,0.01)' or 'normal(-1,1)'"
        )
    mean, std = float(match.group(1)), float(match.group(2))
    if not (math.isfinite(mean) and math.isfinite(std) and std > 0):
        raise ValueError(f"init scheme {scheme!r}: mean must be finite and std positive")
    return mean, std


@torch.no_grad()
def init_weights(model: nn.Module, scheme: str, *, seed: int) -> None:
    """Re-initialise ``model``'s parameters in place according to ``scheme``.

    Draws come from a CPU generator seeded with ``seed``, parameter by parameter in
    ``named_parameters()`` order, so the result is the same on every device.
    """
    params = parse_init(scheme)
    if params is None:
        return
    mean, std = params
    generator = cpu_generator(seed)
    for p in model.parameters():
        draw = torch.empty(p.shape, dtype=p.dtype).normal_(mean, std, generator=generator)
        p.copy_(draw)
