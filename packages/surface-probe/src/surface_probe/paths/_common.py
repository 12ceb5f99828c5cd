"""What every path call shares: option checking, the Evaluator, endpoint vectors, and a
differentiable loss L(θ; batch) through ``torch.func.functional_call`` on one private copy.

Fitting normalises BatchNorm with batch statistics under ``bn="recompute"`` and ``bn="batch"``
(the training-mode convention of Garipov et al.; running statistics are never written), with the
template's statistics under ``bn="frozen"`` and with (1 − t) buf_a + t buf_b under
``bn="interpolate"``.  Dropout is off.  Evaluations (profiles, DSS scans) use the Evaluator's
policy unchanged.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn
from torch.func import functional_call

from surface_probe import _batchnorm
from surface_probe._data import Batch, batch_size, materialise
from surface_probe._forward import forward_errors, forward_precision, widen
from surface_probe.evaluate import Evaluator, cross_entropy
from surface_probe.params import WeightsLike, WeightSpace
from surface_probe.probes import ProbeOptions

__all__ = [
    "FunctionalLoss",
    "OptimizerFactory",
    "check_options",
    "endpoint",
    "evaluator",
]

OptimizerFactory = Callable[[list[Tensor]], torch.optim.Optimizer]
_EVALUATOR_KEYS = ("loss_fn", "metrics", "bn", "precision", "calibration", "device")


def check_options(call: str, options: ProbeOptions) -> None:
    """Refuse keywords that are not probe options, naming them and ``call``."""
    unknown = sorted(set(options) - ProbeOptions.__optional_keys__)
    if unknown:
        raise TypeError(
            f"{call}() got unexpected keyword argument(s) {', '.join(map(repr, unknown))}; "
            f"probe options are {', '.join(ProbeOptions.__annotations__)}"
        )


def evaluator(call: str, model: nn.Module, data: Any, options: ProbeOptions) -> Evaluator:
    """The private Evaluator of one call, configured by the probe options."""
    check_options(call, options)
    kwargs: dict[str, Any] = {k: options[k] for k in _EVALUATOR_KEYS if k in options}  # type: ignore[literal-required]
    return Evaluator(model, data, **kwargs)


def endpoint(space: WeightSpace, weights: WeightsLike, what: str) -> tuple[Tensor, Tensor]:
    """(θ, floating buffers) of a weight set; errors name ``what`` and the offending key."""
    try:
        return space.params_vector(weights), space.buffers_vector(weights)
    except (KeyError, ValueError, TypeError) as err:
        raise type(err)(f"{what}: {err.args[0] if err.args else err}") from None


class FunctionalLoss:
    """L(θ; batch) = loss_fn(f(x; θ), y), differentiable in θ, for ``model``'s architecture.

    The model is deep-copied once (never modified); θ enters through ``functional_call``.
    """

    def __init__(self, ev: Evaluator, model: nn.Module, data: Any, options: ProbeOptions) -> None:
        self.space, self.bn, self.device = ev.space, ev.bn, ev.device
        self.precision = ev.precision
        self.loss_fn: Callable[[Tensor, Any], Tensor] = options.get("loss_fn") or cross_entropy
        self.batches: list[Batch] = materialise(data, self.device, "data", self.space.dtype)
        self.sizes = [batch_size(t) for _, t in self.batches]
        self.model = copy.deepcopy(model).to(self.device).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        if self.bn in ("recompute", "batch"):
            _batchnorm.configure(self.model, "batch")
        self._frozen = self.space.buffers_vector(model).to(self.device, self.space.dtype)

    def __call__(self, theta: Tensor, index: int, buffers: Tensor | None = None) -> Tensor:
        """Mean loss on batch ``index`` at θ (buffers: under bn='interpolate', else ignored)."""
        inputs, targets = self.batches[index]
        named = self.space.params_dict(theta.to(self.device, self.space.dtype))
        if self.bn in ("frozen", "interpolate"):
            bufs = buffers if self.bn == "interpolate" and buffers is not None else self._frozen
            named.update(self.space.buffers_dict(bufs.to(self.device, self.space.dtype)))
        with forward_precision(self.precision, self.device), forward_errors("data", index, inputs):
            out = functional_call(self.model, named, (inputs,), strict=False)
        value = self.loss_fn(widen(out), targets)
        return value if value.ndim == 0 else value.mean()

    def full(self, theta: Tensor, buffers: Tensor | None = None) -> Tensor:
        """Example-weighted mean loss over all batches at θ."""
        total = sum(self.sizes)
        parts = [self(theta, i, buffers) * (n / total) for i, n in enumerate(self.sizes)]
        return torch.stack(parts).sum()
