"""Random directions: standard normal, normalized per tensor (Li et al. 2018), seeded."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor, nn

from surface_probe import geometry
from surface_probe.geometry import Ignore, Normalization
from surface_probe.probes._setup import Probe

__all__ = ["random_direction", "random_directions"]


def random_directions(
    probe: Probe,
    theta: Tensor,
    number: int,
    seed: int,
    normalization: Normalization,
    ignore: Ignore,
) -> list[Tensor]:
    """``number`` normalized Gaussian directions at θ, drawn in turn from one CPU generator
    seeded with ``seed``."""
    gen = torch.Generator().manual_seed(seed)
    shapes = list(probe.ev.space.param_shapes.values())
    return [
        geometry.random_direction_vector(
            theta, shapes, normalization=normalization, ignore=ignore, generator=gen
        )
        for _ in range(number)
    ]


def random_direction(
    model_or_state: nn.Module | Mapping[str, Tensor],
    *,
    normalization: Normalization = "filter",
    ignore: Ignore = "biasbn",
    generator: torch.Generator | None = None,
) -> dict[str, Tensor]:
    """A standard normal direction for every floating-point parameter (every floating tensor of a
    state_dict), normalized per tensor (see :func:`geometry.normalize_tensor`), on each weight's
    device and dtype.  Drawn as one flat vector in key order, so the same generator state gives
    the same d_1 as :func:`~surface_probe.plane` with that seed."""
    if isinstance(model_or_state, nn.Module):
        named = {
            n: p.detach() for n, p in model_or_state.named_parameters() if p.is_floating_point()
        }
    elif isinstance(model_or_state, Mapping):
        named = {
            n: t.detach()
            for n, t in model_or_state.items()
            if isinstance(t, Tensor) and t.is_floating_point()
        }
    else:
        raise TypeError(
            f"model_or_state must be an nn.Module or a state_dict, "
            f"got {type(model_or_state).__name__}"
        )
    if not named:
        raise ValueError("no floating-point tensors to draw a direction for")
    first = next(iter(named.values()))
    theta = torch.cat([t.reshape(-1).to(first.device, first.dtype) for t in named.values()])
    flat = geometry.random_direction_vector(
        theta,
        [t.shape for t in named.values()],
        normalization=normalization,
        ignore=ignore,
        generator=generator,
    )
    parts = torch.split(flat, [t.numel() for t in named.values()])
    return {
        n: p.reshape(t.shape).to(t.device, t.dtype)
        for (n, t), p in zip(named.items(), parts, strict=True)
    }
