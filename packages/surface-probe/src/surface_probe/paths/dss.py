"""Dynamic String Sampling (Freeman & Bruna 2017, Algorithm 1): is θ_a connected to θ_b below a
loss level L0, and how curved is the connecting string?

    connect(x, y, depth):
        t* = argmax_t L((1 − t) x + t y) over ``samples`` points of the segment
        if L(t*) ≤ L0:                the segment is below the level — done
        if depth = max_depth:         give up (not connected)
        θ ← (1 − t*) x + t* y; descend from θ (minibatch steps of ``optimizer``) until
            L(θ) ≤ α L0 (a minibatch loss below it is confirmed on all data; at most
            ``bead_steps`` steps)
        if it never gets there:       not connected (e.g. the bead sits on a saddle)
        connect(x, θ, depth + 1); connect(θ, y, depth + 1)

The result lists the beads from θ_a to θ_b, the maximum loss of every final segment, whether all
segments stayed ≤ L0, and the normalized geodesic length Σ_i ‖θ_{i+1} − θ_i‖ / ‖θ_b − θ_a‖.
"""

from __future__ import annotations

import sys
from pathlib import Path as FilePath
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from surface_probe._checks import check_at_least
from surface_probe._fingerprint import check_fingerprint, digest, inputs_fingerprint
from surface_probe.evaluate import Evaluator
from surface_probe.params import WeightsLike
from surface_probe.paths._common import (
    FunctionalLoss,
    OptimizerFactory,
    endpoint,
    evaluator,
)
from surface_probe.paths.results import StringResult
from surface_probe.probes import ProbeOptions
from surface_probe.results import load_arrays, save_arrays

if sys.version_info >= (3, 11):
    from typing import Unpack

__all__ = ["dss"]


def _adam(params: list[Tensor]) -> torch.optim.Optimizer:
    return torch.optim.Adam(params, lr=1e-2)


class _BeadStore:
    """Finished bead descents keyed by the digest of their starting point, saved atomically to
    ``checkpoint`` after each one: a rerun retraces the deterministic recursion and reuses them."""

    def __init__(self, checkpoint: Any, fingerprint: dict[str, Any]) -> None:
        self.path = FilePath(checkpoint) if checkpoint is not None else None
        self.fingerprint = fingerprint
        self.arrays: dict[str, np.ndarray] = {}
        self.meta: dict[str, Any] = {"fingerprint": fingerprint, "reached": {}, "steps": {}}
        if self.path is not None and self.path.exists():
            self.arrays, meta = load_arrays(self.path)
            check_fingerprint(self.path, meta.get("fingerprint"), fingerprint, "another dss call")
            self.meta = meta

    def get(self, start: Tensor) -> tuple[Tensor, bool] | None:
        key = digest(start)
        if key not in self.arrays:
            return None
        bead = torch.from_numpy(self.arrays[key]).to(start.device, start.dtype)
        return bead, bool(self.meta["reached"][key])

    def put(self, start: Tensor, bead: Tensor, reached: bool, steps: int) -> None:
        if self.path is None:
            return
        key = digest(start)
        self.arrays[key] = bead.detach().cpu().double().numpy()  # exact for every float dtype
        self.meta["reached"][key], self.meta["steps"][key] = reached, steps
        save_arrays(self.path, self.arrays, self.meta)


class _String:
    """The recursion of Algorithm 1 over one evaluator and one differentiable loss."""

    def __init__(
        self,
        ev: Evaluator,
        loss: FunctionalLoss,
        level: float,
        alpha: float,
        settings: dict[str, Any],
    ) -> None:
        self.ev, self.loss, self.level, self.alpha = ev, loss, level, alpha
        self.samples: int = settings["samples"]
        self.max_depth: int = settings["max_depth"]
        self.bead_steps: int = settings["bead_steps"]
        self.optimizer: OptimizerFactory = settings["optimizer"] or _adam
        self.descents: list[int] = []
        self.beads = _BeadStore(settings["checkpoint"], settings["fingerprint"])

    def _loss(self, points: Tensor) -> np.ndarray:
        return np.concatenate(
            [self.ev.evaluate(points[i : i + 32])["loss"] for i in range(0, points.shape[0], 32)]
        )

    def _descend(self, start: Tensor) -> tuple[Tensor, bool]:
        """Minibatch steps from ``start``; a minibatch loss ≤ α·L0 is confirmed on all data."""
        bead = start.clone().requires_grad_(True)
        opt = self.optimizer([bead])
        target = self.alpha * self.level
        for step in range(self.bead_steps + 1):
            value = self.loss(bead, step % len(self.loss.batches))
            if float(value.detach()) <= target and self._loss(bead.detach()[None])[0] <= target:
                self.descents.append(step)
                return bead.detach(), True
            if step == self.bead_steps:
                break
            opt.zero_grad(set_to_none=True)
            torch.autograd.backward(value)
            opt.step()
        self.descents.append(self.bead_steps)
        return bead.detach(), False

    def connect(self, x: Tensor, y: Tensor, depth: int) -> tuple[list[Tensor], list[float], bool]:
        """Interior beads strictly between x and y, the segment maxima, and whether connected."""
        ts = torch.linspace(0.0, 1.0, self.samples, dtype=torch.float64)
        c = torch.stack([1.0 - ts, ts], dim=1).to(x.dtype)
        values = self._loss(c @ torch.stack([x, y]))
        top = float(np.max(values))
        if top <= self.level:
            return [], [top], True
        if depth >= self.max_depth:
            return [], [top], False
        t_star = ts[int(np.argmax(values))]
        start = (1.0 - t_star) * x + t_star * y
        stored = self.beads.get(start)
        bead, reached = stored if stored is not None else self._descend(start)
        if stored is None:
            self.beads.put(start, bead, reached, self.descents[-1])
        if not reached:
            return [], [top], False
        left, left_max, left_ok = self.connect(x, bead, depth + 1)
        right, right_max, right_ok = self.connect(bead, y, depth + 1)
        return [*left, bead, *right], left_max + right_max, left_ok and right_ok


def dss(
    model: nn.Module,
    a: WeightsLike,
    b: WeightsLike,
    data: Any,
    *,
    level: float,
    alpha: float = 0.1,
    max_depth: int = 8,
    samples: int = 33,
    bead_steps: int = 2000,
    optimizer: OptimizerFactory | None = None,
    **options: Unpack[ProbeOptions],
) -> StringResult:
    """Dynamic String Sampling between ``a`` and ``b`` at loss level L0 = ``level``.

    ``alpha`` (0 < α ≤ 1) is how far below the level a new bead must descend; ``samples`` points
    per segment locate t*; ``optimizer`` (factory ``params -> Optimizer``, default Adam lr 1e-2)
    drives the bead descents on the data's batches in turn.  Segment scans use the Evaluator's BN
    policy; descents use the fitting convention of :mod:`surface_probe.paths._common`.

    Shared keyword options: :class:`~surface_probe.ProbeOptions`; with ``checkpoint=PATH`` each
    finished bead descent is saved and a rerun with the same arguments reuses it.
    ``bn="interpolate"`` is refused, as beads have no buffers of their own.
    """
    if not np.isfinite(level):
        raise ValueError(f"level must be a finite loss value, got {level}")
    if not 0.0 < alpha <= 1.0:
        raise ValueError(f"alpha must be in (0, 1], got {alpha}")
    check_at_least(
        ("max_depth", max_depth, 0), ("samples", samples, 3), ("bead_steps", bead_steps, 1)
    )
    ev = evaluator("dss", model, data, options)
    if ev.bn == "interpolate":
        raise ValueError("dss() needs bn 'recompute', 'frozen' or 'batch': beads carry no buffers")
    (ta, ba), (tb, bb) = endpoint(ev.space, a, "a"), endpoint(ev.space, b, "b")
    ta, tb = ta.to(ev.device), tb.to(ev.device)
    loss = FunctionalLoss(ev, model, data, options)
    settings = {
        "samples": samples,
        "max_depth": max_depth,
        "bead_steps": bead_steps,
        "optimizer": optimizer,
        "checkpoint": options.get("checkpoint"),
        "fingerprint": {
            "ends": digest(ta, tb),
            "settings": [float(level), float(alpha), samples, bead_steps],
            **inputs_fingerprint(ev, options),
        },
    }
    string = _String(ev, loss, float(level), float(alpha), settings)
    inner, maxima, connected = string.connect(ta, tb, 0)
    beads = torch.stack([ta, *inner, tb]).double()
    chord = float(torch.linalg.vector_norm(beads[-1] - beads[0]))
    length = float(torch.linalg.vector_norm(beads[1:] - beads[:-1], dim=1).sum())
    meta = {
        **ev.meta(),
        "kind": "dss",
        "alpha": alpha,
        "max_depth": max_depth,
        "samples": samples,
        "bead_steps": bead_steps,
        "descent_steps": string.descents,
    }
    return StringResult(
        connected=connected,
        beads=beads.cpu().numpy(),
        segment_max=np.asarray(maxima),
        buffers=torch.stack([ba, bb]).double().cpu().numpy(),
        normalized_length=length / chord if chord > 0 else float("nan"),
        level=float(level),
        meta=meta,
    )
