"""The one setup step of every probe: options → evaluator and runner; weight sets → anchors.

Every probe evaluates points θ_p = Σ_k C[p, k] A_k, affine combinations of a few anchor vectors
A (weight sets and directions, see :mod:`surface_probe.geometry`), chunk by chunk so that at most
``chunk_size`` points exist in memory, with one private :class:`~surface_probe.Evaluator` (the
user's modules are never touched) under the resumable, sharded runner.  The floating buffers
move with the same coefficients (directions carry none: their buffer anchor is 0; BatchNorm
statistics follow the BN policy).  Every result's ``meta`` records the BN policy, precision, data
size, package version and probe arguments.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict, cast

import numpy as np
import torch
from torch import Tensor, nn

from surface_probe import geometry
from surface_probe._fingerprint import digest, inputs_fingerprint
from surface_probe._runner import run_points, saved_fingerprint
from surface_probe.evaluate import Evaluator, LossFn, MetricFn
from surface_probe.params import WeightsLike

__all__ = ["Metrics", "OutputStats", "Probe", "ProbeOptions"]

Metrics = Mapping[str, MetricFn] | Sequence[str | MetricFn] | None
_MAX_CHUNK_BYTES = 1 << 27


class ProbeOptions(TypedDict, total=False):
    """Keyword options shared by every probe (``**options``); every key is optional.

    loss_fn: ``loss_fn(outputs, targets)`` → batch mean (or per-example values, averaged);
        default cross-entropy.
    metrics: extra metrics, a mapping name → callable(outputs, targets) or a sequence of names
        (``"accuracy"``) and callables; each is returned in the result's ``metrics``.
    bn: BatchNorm policy ("auto" (default), "recompute", "interpolate", "frozen", "batch", "none").
    precision: "fp32" (default, the model's own dtype) or "bf16" (bfloat16 autocast forward).
    calibration: batches for re-estimating BN statistics under ``bn="recompute"`` (default: data).
    checkpoint: a file path; finished chunks are saved there and a rerun resumes from it.  The
        file records a fingerprint of everything the values depend on (weights, data, targets,
        calibration data, buffers, module structure, loss and metrics); a rerun that differs
        is refused, naming the differing field.
    checkpoint_key: a name standing for a loss or metric that cannot be identified across runs
        (a lambda, closure or callable object), required to checkpoint with one.
    progress: show a progress bar (None: when stderr is a terminal).
    chunk_size: points built and evaluated at once (None: as many as fit in 128 MiB, at most 32).
    device: where to evaluate (None: the model's device, else CUDA when available, else CPU).

    Any other keyword raises ``TypeError`` naming it.
    """

    loss_fn: LossFn | None
    metrics: Metrics
    bn: str
    precision: str
    calibration: Any
    checkpoint: str | os.PathLike[str] | None
    checkpoint_key: str | None
    progress: bool | None
    chunk_size: int | None
    device: torch.device | str | None


@dataclass(frozen=True)
class OutputStats:
    """Values ``fn(outputs)`` computed from each point's outputs over all data (same load);
    ``key`` identifies ``fn`` in checkpoints."""

    names: tuple[str, ...]
    fn: Callable[[Tensor], Mapping[str, float]]
    key: str


class Probe:
    """One call of a probe: its options, its private evaluator ``ev`` and the runner."""

    def __init__(self, kind: str, model: nn.Module, data: Any, options: ProbeOptions) -> None:
        unknown = sorted(set(options) - ProbeOptions.__optional_keys__)
        if unknown:
            raise TypeError(
                f"{kind}() got unexpected keyword argument(s) {', '.join(map(repr, unknown))}; "
                f"probe options are {', '.join(ProbeOptions.__annotations__)}"
            )
        self.kind = kind
        self.options = options
        self.ev = Evaluator(
            model,
            data,
            loss_fn=options.get("loss_fn"),
            metrics=options.get("metrics"),
            bn=options.get("bn", "auto"),
            precision=options.get("precision", "fp32"),
            calibration=options.get("calibration"),
            device=options.get("device"),
        )

    def weight_sets(self, sets: Mapping[str, WeightsLike]) -> tuple[Tensor, Tensor]:
        """Anchors (K, dim) and buffer anchors (K, buffer_dim) of the named weight sets.

        Integer buffers cannot be interpolated: they must be equal in every set and are used as
        given.  Errors name the weight set and the offending key."""
        space, thetas, buffers = self.ev.space, [], []
        static: dict[str, tuple[str, Tensor]] = {}
        for what, weights in sets.items():
            try:
                thetas.append(space.params_vector(weights))
                buffers.append(space.buffers_vector(weights))
                named = space.static_buffers(weights)
            except (KeyError, ValueError, TypeError) as err:
                raise type(err)(f"{what}: {err.args[0] if err.args else err}") from None
            for name, value in named.items():
                first, seen = static.setdefault(name, (what, value))
                if value.shape != seen.shape or not torch.equal(value, seen):
                    raise ValueError(
                        f"integer buffer {name!r} differs between {first} and {what}; it "
                        "cannot be interpolated, so it must be equal in every weight set"
                    )
        self.ev.set_static_buffers({name: value for name, (_, value) in static.items()})
        theta = torch.stack(thetas).to(self.ev.device)
        return theta, torch.stack(buffers).to(self.ev.device, theta.dtype)

    def direction(self, d: Mapping[str, Tensor] | Tensor, what: str) -> Tensor:
        """A direction given as a flat (dim,) tensor or a dict of parameter tensors."""
        space = self.ev.space
        if isinstance(d, Tensor):
            if d.shape != (space.dim,):
                raise ValueError(f"{what} has shape {tuple(d.shape)}, expected ({space.dim},)")
            return d.detach().to(self.ev.device, space.dtype)
        try:
            return space.params_vector(d).to(self.ev.device)
        except (KeyError, ValueError, TypeError) as err:
            raise type(err)(f"{what}: {err.args[0] if err.args else err}") from None

    def seed(self, seed: int | None) -> int:
        """``seed``; when None, the seed of the run being resumed, else a fresh one."""
        if seed is None:
            saved = saved_fingerprint(self.options.get("checkpoint"))
            if saved is not None and isinstance(saved.get("seed"), int):
                return int(saved["seed"])
            return int(cast(int, np.random.SeedSequence().entropy)) % (1 << 63)
        return int(seed)

    def run(
        self,
        coefficients: Tensor,
        anchors: Tensor,
        buffer_anchors: Tensor,
        *,
        seed: int | None = None,
        outputs: OutputStats | None = None,
        stage: str = "",
    ) -> dict[str, np.ndarray]:
        """Loss, metrics (and ``outputs`` values) at the points C @ anchors, float64 (P,) each;
        ``stage`` names a further run of one probe (its own checkpoint file)."""
        ev = self.ev
        on_outputs = outputs.fn if outputs is not None else None

        def evaluate_chunk(idx: np.ndarray) -> dict[str, np.ndarray]:
            c = coefficients[torch.as_tensor(idx, dtype=torch.long)]
            pts = geometry.combine(c, anchors)
            return ev.evaluate(pts, geometry.combine(c, buffer_anchors), on_outputs=on_outputs)

        names = (*ev.metric_names, *(outputs.names if outputs is not None else ()))
        checkpoint = self.options.get("checkpoint")
        fingerprint: dict[str, Any] = {}
        if checkpoint is not None:
            if stage:
                path = Path(checkpoint)
                checkpoint = path.with_name(f"{path.stem}.{stage}{path.suffix}")
            fingerprint = {
                **inputs_fingerprint(ev, self.options),
                "seed": seed,
                "kind": f"{self.kind}{'/' + stage if stage else ''}",
                "coefficients": digest(coefficients),
                "anchors": digest(anchors),
                "buffer_anchors": digest(buffer_anchors),
                "names": list(names),
                "outputs": outputs.key if outputs is not None else None,
            }
        return run_points(
            coefficients.shape[0],
            evaluate_chunk,
            names,
            chunk_size=self._chunk_size(),
            checkpoint=checkpoint,
            fingerprint=fingerprint,
            progress=self.options.get("progress"),
            desc=f"{self.kind} {stage}".strip(),
        )

    def _chunk_size(self) -> int:
        chunk_size = self.options.get("chunk_size")
        if chunk_size is not None:
            return chunk_size
        space = self.ev.space
        itemsize = torch.empty(0, dtype=space.dtype).element_size()
        return max(1, min(32, _MAX_CHUNK_BYTES // max(1, space.dim * itemsize)))

    def meta(self, **extra: Any) -> dict[str, Any]:
        """The evaluator's provenance, the probe kind and ``extra`` probe arguments."""
        return {**self.ev.meta(), "kind": self.kind, **extra}


def split(
    values: dict[str, np.ndarray], shape: tuple[int, ...]
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(loss, metrics) reshaped to the probe's grid ``shape``."""
    metrics = {k: v.reshape(shape) for k, v in values.items() if k != "loss"}
    return values["loss"].reshape(shape), metrics
