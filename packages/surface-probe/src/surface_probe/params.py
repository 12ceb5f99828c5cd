"""Weight space: a module's floating-point parameters (and buffers) as one flat vector and back.

A network with named parameter tensors W_1, ..., W_k is a point θ ∈ R^d with

    θ = concat(vec(W_1), ..., vec(W_k)),    d = Σ_i numel(W_i),

in ``module.named_parameters()`` order. Floating-point buffers (BatchNorm ``running_mean`` and
``running_var``, a ``temperature``...) form a second, separate vector in ``named_buffers()`` order.

Buffers move with the weight sets by one rule:

- floating buffers are coordinates: combined with the same coefficients as the parameters (except
  BatchNorm running statistics, which follow the BN policy of :mod:`surface_probe._batchnorm`);
- integer and bool buffers cannot be interpolated: they must be equal in every weight set of a
  probe and are taken from there (BatchNorm's ``num_batches_tracked`` counter is ignored);
- non-persistent buffers are not in any ``state_dict``: they always come from the template.

Weight sets arrive as an ``nn.Module`` of the same architecture or as a ``state_dict``; every
conversion validates names and shapes against the template and names the offending key.  A tied
alias (``decoder.weight`` sharing ``encoder.weight`` in the template) must equal its source.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeAlias

import torch
from torch import Tensor, nn

from surface_probe._batchnorm import (
    BNPolicy,
    bn_parameter_names,
    has_running_stats,
    running_stat_modules,
    running_stat_names,
)

__all__ = ["BNPolicy", "WeightSpace", "WeightsLike", "has_running_stats", "running_stat_modules"]

WeightsLike: TypeAlias = nn.Module | Mapping[str, Tensor]


def _as_tensor_dict(weights: WeightsLike, what: str) -> Mapping[str, Tensor]:
    if isinstance(weights, nn.Module):
        named: dict[str, Tensor] = dict(weights.state_dict(keep_vars=True))
        named.update(weights.named_parameters())
        named.update(weights.named_buffers())
        return named
    if isinstance(weights, Mapping):
        return weights
    raise TypeError(
        f"{what} must be an nn.Module or a state_dict (Mapping[str, Tensor]), "
        f"got {type(weights).__name__}"
    )


def _aliases(model: nn.Module) -> dict[str, str]:
    """state_dict keys that name a tensor already named by an earlier key (tied weights)."""
    first: dict[int, str] = {}
    aliases: dict[str, str] = {}
    for key, t in model.state_dict(keep_vars=True).items():
        source = first.setdefault(id(t), key)
        if source != key:
            aliases[key] = source
    return aliases


@dataclass(frozen=True)
class _Block:
    """Names and shapes of one flat vector (parameters or floating buffers)."""

    names: tuple[str, ...]
    shapes: tuple[torch.Size, ...]

    @property
    def numels(self) -> tuple[int, ...]:
        return tuple(s.numel() for s in self.shapes)

    @property
    def dim(self) -> int:
        return sum(self.numels)


class WeightSpace:
    """Name-aware flattening of a template module's floating-point parameters and buffers.

    ``params_vector`` maps a weight set to θ ∈ R^dim, ``params_dict`` maps θ back to tensors of the
    template's shapes (views, no copy). The same pair exists for floating buffers. Vectors have the
    template's parameter dtype and device.
    """

    def __init__(self, model: nn.Module) -> None:
        params = [(n, p) for n, p in model.named_parameters() if p.is_floating_point()]
        buffers = [
            (n, b) for n, b in model.named_buffers() if b is not None and b.is_floating_point()
        ]
        if not params:
            raise ValueError("model has no floating-point parameters to probe")
        dtypes = {p.dtype for _, p in params}
        if len(dtypes) > 1:
            raise ValueError(
                "all floating-point parameters must share one dtype, got "
                + ", ".join(sorted(str(d) for d in dtypes))
            )
        self.dtype: torch.dtype = params[0][1].dtype
        self.device: torch.device = params[0][1].device
        self._params = _Block(tuple(n for n, _ in params), tuple(p.shape for _, p in params))
        self._buffers = _Block(tuple(n for n, _ in buffers), tuple(b.shape for _, b in buffers))
        bn_names = bn_parameter_names(model)
        self.bn_param_names: frozenset[str] = frozenset(
            n for n in self._params.names if n in bn_names
        )
        self.one_d_param_names: frozenset[str] = frozenset(
            n for n, s in zip(self._params.names, self._params.shapes, strict=True) if len(s) <= 1
        )
        # Keys a state_dict of this architecture may carry besides the requested block
        # (tied-weight aliases, integer buffers, non-floating parameters).
        self._known_keys: frozenset[str] = frozenset(model.state_dict().keys()) | frozenset(
            n for n, _ in model.named_buffers()
        )
        self.has_running_stats: bool = has_running_stats(model)
        persistent = set(model.state_dict().keys())
        self._template_only: dict[str, Tensor] = {
            n: b.detach().clone() for n, b in buffers if n not in persistent
        }
        stat_names = running_stat_names(model)
        self.bn_buffer_mask: Tensor = torch.cat(
            [
                torch.full((s.numel(),), n in stat_names, dtype=torch.bool)
                for n, s in zip(self._buffers.names, self._buffers.shapes, strict=True)
            ]
            or [torch.zeros(0, dtype=torch.bool)]
        )
        self.static_buffer_names: tuple[str, ...] = tuple(
            n
            for n, b in model.named_buffers()
            if b is not None
            and not b.is_floating_point()
            and n in persistent
            and n not in stat_names
        )
        self._aliases = _aliases(model)

    @classmethod
    def of(cls, model: nn.Module) -> WeightSpace:
        """The weight space of ``model`` (the template)."""
        return cls(model)

    @property
    def param_names(self) -> tuple[str, ...]:
        return self._params.names

    @property
    def buffer_names(self) -> tuple[str, ...]:
        return self._buffers.names

    @property
    def dim(self) -> int:
        return self._params.dim

    @property
    def buffer_dim(self) -> int:
        return self._buffers.dim

    @property
    def param_shapes(self) -> dict[str, torch.Size]:
        return dict(zip(self._params.names, self._params.shapes, strict=True))

    @property
    def buffer_shapes(self) -> dict[str, torch.Size]:
        return dict(zip(self._buffers.names, self._buffers.shapes, strict=True))

    def is_bn(self, name: str) -> bool:
        """True when parameter ``name`` belongs to a BatchNorm module."""
        return name in self.bn_param_names

    def is_1d(self, name: str) -> bool:
        """True when parameter ``name`` has at most one dimension (biases, BN scales)."""
        return name in self.one_d_param_names

    def params_vector(self, weights: WeightsLike) -> Tensor:
        """θ of ``weights`` as a (dim,) tensor; keys and shapes are checked against the template."""
        return self._flatten(self._params, weights, "parameter")

    def buffers_vector(self, weights: WeightsLike) -> Tensor:
        """Floating buffers of ``weights`` as a (buffer_dim,) tensor (validated like parameters)."""
        return self._flatten(self._buffers, weights, "buffer")

    def static_buffers(self, weights: WeightsLike) -> dict[str, Tensor]:
        """The integer/bool persistent buffers of ``weights`` (not BN counters), by name."""
        named = _as_tensor_dict(weights, "weights")
        missing = [n for n in self.static_buffer_names if n not in named]
        if missing:
            raise KeyError(f"weight set is missing buffer key(s) {missing}")
        return {n: named[n].detach() for n in self.static_buffer_names}

    def params_dict(self, vec: Tensor) -> dict[str, Tensor]:
        """Split θ into named views with the template's parameter shapes."""
        return self._unflatten(self._params, vec, "parameter")

    def buffers_dict(self, vec: Tensor) -> dict[str, Tensor]:
        """Split a buffer vector into named views with the template's buffer shapes."""
        return self._unflatten(self._buffers, vec, "buffer")

    def _flatten(self, block: _Block, weights: WeightsLike, kind: str) -> Tensor:
        named = {**_as_tensor_dict(weights, "weights"), **self._template_only}
        missing = [n for n in block.names if n not in named]
        if missing:
            raise KeyError(f"weight set is missing {kind} key(s) {missing}")
        unexpected = [k for k in named if k not in self._known_keys]
        if unexpected:
            raise KeyError(f"weight set has unexpected key(s) {unexpected} not in the template")
        self._check_aliases(named)
        pieces = []
        for name, shape in zip(block.names, block.shapes, strict=True):
            t = named[name]
            if not isinstance(t, Tensor):
                raise TypeError(f"{kind} {name!r} must be a Tensor, got {type(t).__name__}")
            if t.is_meta:
                raise ValueError(f"{kind} {name!r} is on the meta device and holds no values")
            if t.shape != shape:
                raise ValueError(
                    f"shape mismatch for {kind} {name!r}: weight set has {tuple(t.shape)}, "
                    f"template has {tuple(shape)}"
                )
            pieces.append(t.detach().reshape(-1).to(device=self.device, dtype=self.dtype))
        if not pieces:
            return torch.empty(0, dtype=self.dtype, device=self.device)
        return torch.cat(pieces)

    def _check_aliases(self, named: Mapping[str, Tensor]) -> None:
        for alias, source in self._aliases.items():
            a, s = named.get(alias), named.get(source)
            if a is None or s is None or a is s:
                continue
            if a.shape != s.shape or a.is_meta or not torch.equal(a.detach(), s.detach()):
                raise ValueError(
                    f"tied weights differ: {alias!r} must equal {source!r} (they are one tensor "
                    "in the template)"
                )

    def _unflatten(self, block: _Block, vec: Tensor, kind: str) -> dict[str, Tensor]:
        if vec.ndim != 1 or vec.numel() != block.dim:
            raise ValueError(
                f"{kind} vector must have shape ({block.dim},), got {tuple(vec.shape)}"
            )
        chunks = torch.split(vec, list(block.numels))
        return {
            name: chunk.view(shape)
            for name, chunk, shape in zip(block.names, chunks, block.shapes, strict=True)
        }
