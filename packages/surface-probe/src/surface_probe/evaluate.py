"""The evaluator: the only code in surface_probe that runs a model.

For points θ_1..θ_P and data batches (x_b, y_b) with n_b examples (N = Σ_b n_b) it returns, for
every point p and metric m (the loss first),

    M_m(θ_p) = (1/N) Σ_b n_b · m(f(x_b; θ_p), y_b),

where m(·) is the batch mean of the loss or metric. Evaluation runs under
``torch.inference_mode`` with dropout off and the BatchNorm policy of ``surface_probe._batchnorm``.

The user's module is never touched: at construction the evaluator makes ONE private copy whose
parameters are rebound to views of θ_p (no copy at all when θ_p has the model's dtype and device)
and whose floating buffers are views into one flat vector; no per-point module copies are made.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping, Sequence
from importlib import metadata
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from surface_probe import _batchnorm
from surface_probe._data import Batch, batch_size, materialise
from surface_probe._fingerprint import callables_identity, module_structure, nested_digest
from surface_probe._forward import forward_errors, forward_precision, widen
from surface_probe._metrics import (
    LossFn,
    MetricFn,
    accuracy,
    batch_mean,
    cross_entropy,
    resolve_metrics,
)
from surface_probe.params import WeightSpace

__all__ = [
    "PRECISIONS",
    "Evaluator",
    "LossFn",
    "MetricFn",
    "accuracy",
    "cross_entropy",
]

PRECISIONS: tuple[str, ...] = ("fp32", "bf16")


def _deepcopy(model: nn.Module) -> nn.Module:
    """``copy.deepcopy(model)``, refused in one line when torch cannot copy the module."""
    try:
        return copy.deepcopy(model)
    except (RuntimeError, TypeError) as err:
        hint = ""
        for name, m in model.named_modules():
            if any(type(h).__name__ == "WeightNorm" for h in m._forward_pre_hooks.values()):
                hint = (
                    f"; submodule {name!r} uses the old torch.nn.utils.weight_norm, use "
                    "torch.nn.utils.parametrizations.weight_norm instead"
                )
                break
        reason = " ".join(str(err).split())[:160]
        raise ValueError(f"model cannot be copied with copy.deepcopy ({reason}){hint}") from None


def _default_device(model: nn.Module) -> torch.device:
    for p in model.parameters():
        if p.device.type != "cpu":
            return p.device
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _package_version() -> str:
    try:
        return metadata.version("surface-probe")
    except metadata.PackageNotFoundError:
        return "unknown"


class Evaluator:
    """Evaluate loss and metrics of ``model``'s architecture at many flat weight vectors.

    Args:
        model: architecture template (never modified); its weights are the default point.
        data: one ``(X, Y)`` pair or an iterable of ``(inputs, targets)`` batches; iterated once and
            kept as tensors on ``device``, floating-point inputs cast to the model's parameter
            dtype (targets and integer inputs unchanged). The model is called as
            ``model(inputs)``; a batch it cannot run (wrong input shape) is a one-line
            ValueError naming ``data``, the batch and its input shapes.
        loss_fn: ``loss_fn(outputs, targets)`` → batch mean (or per-example values, averaged);
            default cross-entropy.
        metrics: extra metrics, a mapping name → callable(outputs, targets) or a sequence of names
            (``"accuracy"``) and callables; every metric is an example-weighted mean over the data.
        bn: BatchNorm policy ("auto", "recompute", "interpolate", "frozen", "batch", "none").
        precision: "fp32" (the model's own dtype) or "bf16" (bfloat16 autocast for the forward pass;
            loss and metrics computed in float32 or wider).
        calibration: batches for re-estimating BN statistics under ``bn="recompute"``
            (default: ``data``).
        device: where to evaluate (default: the model's device, else CUDA when available, else CPU).

    The private copy is a ``copy.deepcopy`` of ``model`` made once; it keeps the module's hooks
    (they may be part of its forward, e.g. weight normalization). All data is held on ``device``.
    """

    def __init__(
        self,
        model: nn.Module,
        data: Any,
        *,
        loss_fn: LossFn | None = None,
        metrics: Mapping[str, MetricFn] | Sequence[str | MetricFn] | None = None,
        bn: str = "auto",
        precision: str = "fp32",
        calibration: Any = None,
        device: torch.device | str | None = None,
    ) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        if loss_fn is not None and not callable(loss_fn):
            raise TypeError(f"loss_fn must be callable, got {type(loss_fn).__name__}")
        self.space = WeightSpace.of(model)
        self.bn = _batchnorm.resolve_policy(bn, self.space.has_running_stats)
        self.precision = precision
        self.device = torch.device(device) if device is not None else _default_device(model)
        self._loss_fn: LossFn = loss_fn if loss_fn is not None else cross_entropy
        self._metrics = resolve_metrics(metrics)
        self.metric_names: tuple[str, ...] = ("loss", *self._metrics)

        dtype = self.space.dtype
        self._batches: list[Batch] = materialise(data, self.device, "data", dtype)
        self._sizes = [batch_size(t) for _, t in self._batches]
        self.num_examples = sum(self._sizes)
        self._calibration: list[Batch] = (
            materialise(calibration, self.device, "calibration", dtype)
            if calibration is not None and self.bn == "recompute"
            else self._batches
        )
        self._calibration_name = "calibration" if calibration is not None else "data"
        if calibration is not None and self.bn != "recompute":
            raise ValueError(
                f"calibration batches are only used with bn='recompute', not {self.bn!r}"
            )

        self._model, self._params, self._flat_buffers = self._private_copy(model)
        self._bn = _batchnorm.BatchNormState(
            self._model, self.bn, self._flat_buffers, self.space.bn_buffer_mask
        )
        self._structure = module_structure(model)
        self._buffers_digest = nested_digest(b for _, b in model.named_buffers())

    def set_static_buffers(self, named: Mapping[str, Tensor]) -> None:
        """Use these integer/bool buffers (``space.static_buffer_names``) at every point."""
        for name, value in named.items():
            owner_name, _, leaf = name.rpartition(".")
            owner = self._model.get_submodule(owner_name)
            current = owner._buffers[leaf]
            if current is None or value.shape != current.shape:
                raise ValueError(f"buffer {name!r} has shape {tuple(value.shape)} in a weight set")
            owner._buffers[leaf] = value.detach().to(self.device, current.dtype, copy=True)

    def fingerprint(self, checkpoint_key: str | None = None) -> dict[str, Any]:
        """What the values depend on besides the points (see :mod:`surface_probe._fingerprint`).

        A loss or metric that cannot be identified (lambda, closure, callable object) is refused
        unless ``checkpoint_key`` names it."""
        calibration = self._calibration if self.bn == "recompute" else []
        return {
            **{k: self.meta()[k] for k in ("bn", "precision", "num_examples", "dtype")},
            "data": nested_digest(self._batches),
            "calibration": nested_digest(calibration),
            "buffers": self._buffers_digest,
            "structure": self._structure,
            **callables_identity(self._loss_fn, self._metrics, checkpoint_key),
        }

    def _private_copy(self, model: nn.Module) -> tuple[nn.Module, list[nn.Parameter], Tensor]:
        """One deep copy, its probed parameters, and its floating buffers as views of one vector."""
        space = self.space
        private = _deepcopy(model).to(self.device)
        named = dict(private.named_parameters())
        for p in named.values():
            p.requires_grad_(False)
        flat_buffers = space.buffers_vector(model).to(self.device, copy=True)
        for name, view in space.buffers_dict(flat_buffers).items():
            owner_name, _, leaf = name.rpartition(".")
            private.get_submodule(owner_name)._buffers[leaf] = view
        return private, [named[n] for n in space.param_names], flat_buffers

    @property
    def num_batches(self) -> int:
        return len(self._batches)

    def _forward(self, inputs: Any, what: str, index: int) -> Tensor:
        with forward_precision(self.precision, self.device), forward_errors(what, index, inputs):
            out = self._model(inputs)
        if not isinstance(out, Tensor):
            raise TypeError(f"model must return a Tensor, got {type(out).__name__}")
        return widen(out)

    def _check_stack(self, x: Tensor, width: int, what: str) -> Tensor:
        if not isinstance(x, Tensor):
            raise TypeError(f"{what} must be a Tensor, got {type(x).__name__}")
        if x.ndim == 1:
            x = x.unsqueeze(0)
        if x.ndim != 2 or x.shape[1] != width:
            raise ValueError(f"{what} must have shape (P, {width}), got {tuple(x.shape)}")
        return x

    def _load(self, point: Tensor, buffers: Tensor | None) -> None:
        """Move the private copy to θ = ``point`` and set its BN statistics by the policy.

        The copy's parameters become views of ``point`` (no copy when it already has the model's
        dtype and device); the model never writes its parameters, so ``point`` is only read.
        """
        row = point.to(device=self.device, dtype=self.space.dtype)
        for param, view in zip(self._params, self.space.params_dict(row).values(), strict=True):
            param.data = view
        self._bn.load(buffers, self._calibrate)

    def _calibrate(self) -> None:
        for i, (inputs, _) in enumerate(self._calibration):
            self._forward(inputs, self._calibration_name, i)

    def _points(
        self, points: Tensor, buffers: Tensor | None
    ) -> Iterator[tuple[Tensor, Tensor | None]]:
        pts = self._check_stack(points, self.space.dim, "points")
        if buffers is None:
            if self.bn == "interpolate":
                raise ValueError(
                    "bn='interpolate' needs buffers of shape (P, buffer_dim) per point"
                )
            for p in pts:
                yield p, None
            return
        bufs = self._check_stack(buffers, self.space.buffer_dim, "buffers")
        if bufs.shape[0] != pts.shape[0]:
            raise ValueError(f"got {pts.shape[0]} points but {bufs.shape[0]} buffer vectors")
        yield from zip(pts, bufs, strict=True)

    def evaluate(
        self,
        points: Tensor,
        buffers: Tensor | None = None,
        *,
        on_outputs: Callable[[Tensor], Mapping[str, float]] | None = None,
    ) -> dict[str, np.ndarray]:
        """Loss and metrics at each row of ``points`` (P, dim); float64 arrays of shape (P,).

        ``buffers`` (P, buffer_dim) are the points' floating buffers (BatchNorm statistics among
        them are used only under bn='interpolate'); None keeps the template's.  ``on_outputs``,
        given each point's outputs over all data, adds its values from the same load.
        Non-finite values (nan/inf) are recorded for the affected points only.
        """
        rows: list[Tensor] = []
        extra: dict[str, list[float]] = {}
        with torch.inference_mode():
            for point, buf in self._points(points, buffers):
                self._load(point, buf)
                total = torch.zeros(len(self.metric_names), dtype=torch.float64, device=self.device)
                outputs: list[Tensor] = []
                for i, ((inputs, targets), n) in enumerate(
                    zip(self._batches, self._sizes, strict=True)
                ):
                    out = self._forward(inputs, "data", i)
                    values = [batch_mean(self._loss_fn(out, targets), "loss_fn")]
                    values += [
                        batch_mean(fn(out, targets), name) for name, fn in self._metrics.items()
                    ]
                    total += torch.stack(values) * n
                    if on_outputs is not None:
                        outputs.append(out)
                rows.append(total / self.num_examples)
                if on_outputs is not None:
                    for name, value in on_outputs(torch.cat(outputs)).items():
                        extra.setdefault(name, []).append(float(value))
        table = (
            torch.stack(rows).cpu().numpy()
            if rows
            else np.empty((0, len(self.metric_names)), dtype=np.float64)
        )
        result = {name: table[:, i].copy() for i, name in enumerate(self.metric_names)}
        return {**result, **{k: np.asarray(v, dtype=np.float64) for k, v in extra.items()}}

    def outputs(self, point: Tensor, buffers: Tensor | None = None) -> Tensor:
        """Network outputs f(x; θ) over all data at one point, concatenated along dim 0."""
        if not isinstance(point, Tensor) or point.ndim != 1:
            raise ValueError(f"point must be a 1-D Tensor of length {self.space.dim}")
        bufs = None if buffers is None else buffers.reshape(1, -1)
        ((p, b),) = list(self._points(point.unsqueeze(0), bufs))
        with torch.inference_mode():
            self._load(p, b)
            return torch.cat(
                [self._forward(inputs, "data", i) for i, (inputs, _) in enumerate(self._batches)]
            )

    def meta(self) -> dict[str, Any]:
        """Provenance of every number this evaluator produces."""
        return {
            "bn": self.bn,
            "precision": self.precision,
            "num_examples": self.num_examples,
            "num_batches": self.num_batches,
            "calibration_batches": len(self._calibration) if self.bn == "recompute" else 0,
            "device": str(self.device),
            "dtype": str(self.space.dtype).removeprefix("torch."),
            "version": _package_version(),
        }
