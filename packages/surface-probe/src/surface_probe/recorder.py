"""Gradient geometry along a training path (Guille-Escuret et al., "No Wrong Turns").

For a direction g at weights w and reference weights w* (e.g. the run's final weights)

    RSI = ⟨g, w − w*⟩ / ‖w − w*‖²,     EB = ‖g‖ / ‖w − w*‖,     γ = RSI / EB = cos∠(g, w − w*).

A :class:`GeometryRecorder` attaches to any ``torch.optim.Optimizer`` through its step hooks and
records, per step, these three numbers for

- ``grad``: whatever gradient the optimizer read, i.e. ``p.grad`` after the step (the minibatch
  gradient for SGD/Adam; rk_optim leaves its combined direction ḡ = Σ b_i d_i there),
- ``update``: the effective gradient −Δw/η of the actual update (η: the group's learning rate),
- ``decayed``: the gradient plus the weight-decay term, g + λw (λ: the group's weight_decay),
- ``random``: a direction r ~ N(0, I) scaled to ‖g‖, the chance baseline. Its γ is drawn exactly
  in distribution in O(1) as z / sqrt(z² + c) with z ~ N(0, 1), c ~ χ²_{d−1} (drawn from
  (seed, step)), since ⟨r, u⟩ ~ N(0, 1) and ‖r‖² − ⟨r, u⟩² ~ χ²_{d−1} independently for a unit u,
- ``full`` (every ``full_every`` steps): the full-batch gradient of the eval-mode network,
- ``stage{i}`` (``stages`` > 0, closure wrapped by :meth:`GeometryRecorder.closure`): the gradient
  of the i-th closure call of a multi-stage step, at the stage's probe point.

Memory is O(#parameters) (w* and four parameter-sized buffers reused every step); rows go to
``directory`` in ``chunk_NNNNNN.npz`` files of ``chunk_size`` steps, each written atomically.
Reopening a directory resumes after its last complete chunk (only with the same reference, data
and options: anything else is refused, naming what differs). Training is never altered: the hooks
only read tensors, and the full-batch gradient is taken on a private copy.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.optim import Optimizer

from surface_probe._checks import check_at_least
from surface_probe._fingerprint import check_fingerprint, digest, nested_digest
from surface_probe._objective import Objective
from surface_probe.evaluate import LossFn
from surface_probe.params import WeightsLike, WeightSpace
from surface_probe.results import load_arrays, save_arrays

__all__ = ["GeometryRecorder", "load_geometry"]

_STATS = ("rsi", "eb", "gamma")


def _stats(dot: float, sqnorm: float, dist: float) -> list[float]:
    """[RSI, EB, γ] of a direction g from ⟨g, w − w*⟩, ‖g‖² and ‖w − w*‖."""
    if dist == 0.0:
        return [float("nan")] * 3
    norm = sqnorm**0.5
    return [dot / dist**2, norm / dist, dot / (norm * dist) if norm > 0 else float("nan")]


def _geometry(g: Tensor, offset: Tensor) -> list[float]:
    return _stats(float(g @ offset), float(g @ g), float(offset.norm()))


class GeometryRecorder:
    """Record RSI, EB and γ per optimizer step against ``reference`` (see the module docstring).

    Args:
        model: the trained module (read only).
        optimizer: its optimizer; hooks are registered on it.
        reference: w*, a module, state_dict or flat vector of ``model``'s parameters.
        directory: where chunks and ``meta.npz`` go (created; an existing one is resumed).
        chunk_size: steps per chunk file.
        full_data, full_every, loss_fn, bn: full-batch gradient on ``full_data`` every
            ``full_every`` steps (``bn`` as in :func:`surface_probe.hessian_trace`, eval mode).
        stages: number of stage gradients to record (needs :meth:`closure`).
        seed: seed of the random-direction baseline.
    """

    def __init__(
        self,
        model: nn.Module,
        optimizer: Optimizer,
        reference: WeightsLike | Tensor,
        directory: str | os.PathLike[str],
        *,
        chunk_size: int = 1000,
        full_data: Any = None,
        full_every: int = 0,
        loss_fn: LossFn | None = None,
        bn: str = "auto",
        stages: int = 0,
        seed: int = 0,
    ) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer)}")
        check_at_least(
            ("chunk_size", chunk_size, 1),
            ("full_every", full_every, 0),
            ("stages", stages, 0),
            ("seed", seed, 0),
        )
        if (full_data is None) != (full_every == 0):
            raise ValueError("full_data and full_every > 0 go together")
        self.space = WeightSpace.of(model)
        named = dict(model.named_parameters())
        self._params = [named[n] for n in self.space.param_names]
        ref = reference if isinstance(reference, Tensor) else self.space.params_vector(reference)
        if ref.shape != (self.space.dim,):
            raise ValueError(f"reference must have shape ({self.space.dim},), got {ref.shape}")
        self._ref = ref.detach().to(self.space.device, self.space.dtype).clone()
        self._model, self._optimizer = model, optimizer
        self._full = (
            Objective(model, full_data, loss_fn=loss_fn, bn=bn) if full_data is not None else None
        )
        self._full_every, self._stages, self._seed = full_every, stages, seed
        kinds = ["grad", "update", "decayed", "random"]
        kinds += ["full"] if self._full else []
        kinds += [f"stage{i}" for i in range(stages)]
        self.columns = ("step", "distance", *(f"{k}_{s}" for k in kinds for s in _STATS))
        self.directory = Path(directory)
        self.chunk_size = chunk_size
        self._rows: list[list[float]] = []
        self._chunks, self.step = self._resume(
            {
                "columns": list(self.columns),
                "reference": digest(self._ref),
                "chunk_size": chunk_size,
                "full_data": nested_digest(self._full.batches) if self._full else None,
                "full_every": full_every,
                "bn": self._full.bn if self._full else None,
                "seed": seed,
            }
        )
        self._buffers: dict[str, Tensor] = {}
        self._before = torch.empty(0)
        self._pending: list[float] = []
        self._stage_rows: list[list[float]] = []
        self._rates_key: tuple[tuple[float, float], ...] = ()
        self._rates_cache: tuple[Tensor | float, Tensor | float] = (1.0, 0.0)
        self._handles = [
            optimizer.register_step_pre_hook(self._pre_step),
            optimizer.register_step_post_hook(self._post_step),
        ]

    def _resume(self, fingerprint: dict[str, Any]) -> tuple[int, int]:
        """Resume a directory recorded with the same inputs (refused naming those that differ)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        meta = self.directory / "meta.npz"
        if meta.exists():
            stored = load_arrays(meta)[1]
            check_fingerprint(meta, stored.get("fingerprint"), fingerprint, "another recording")
        else:
            save_arrays(meta, {}, {"columns": list(self.columns), "fingerprint": fingerprint})
        chunks = sorted(self.directory.glob("chunk_*.npz"))
        steps = sum(len(load_arrays(c)[0]["step"]) for c in chunks)
        return len(chunks), steps

    def _flat(self, tensors: list[Tensor | None], out: str | None = None) -> Tensor:
        """Concatenate ``tensors`` (zeros for None), into the reused buffer ``out`` if named
        (no allocation, hence no page faults, per step)."""
        pieces = [
            (t if t is not None else torch.zeros_like(p)).detach().reshape(-1)
            for t, p in zip(tensors, self._params, strict=True)
        ]
        if out is None:
            return torch.cat(pieces)
        buf = self._buffers.setdefault(out, torch.empty_like(self._ref))
        return torch.cat(pieces, out=buf)

    def _rates(self) -> tuple[Tensor | float, Tensor | float]:
        """1/η (1 where η = 0) and λ of each parameter's group: scalars when every parameter
        shares them, else per-coordinate vectors (cached per setting). A parameter outside the
        optimizer gets η = 0, λ = 0."""
        owner = {id(p): g for g in self._optimizer.param_groups for p in g["params"]}
        groups = [owner.get(id(p), {}) for p in self._params]
        key = tuple((float(g.get("lr", 0.0)), float(g.get("weight_decay", 0.0))) for g in groups)
        if key != self._rates_key:
            inv = [1.0 / lr if lr != 0.0 else 1.0 for lr, _ in key]
            decay = [wd for _, wd in key]
            if len(set(key)) == 1:
                self._rates_cache = (inv[0], decay[0])
            else:
                numels = torch.tensor([p.numel() for p in self._params])
                self._rates_cache = (
                    torch.repeat_interleave(self._ref.new_tensor(inv), numels),
                    torch.repeat_interleave(self._ref.new_tensor(decay), numels),
                )
            self._rates_key = key
        return self._rates_cache

    def _pre_step(self, *_: Any) -> None:
        self._before = self._flat(list(self._params), "before")
        self._stage_rows = []
        self._pending = []
        if self._full is not None and self.step % self._full_every == 0:
            self._full.at(self._model)
            self._pending = _geometry(self._full.gradient(), self._before - self._ref)

    def _post_step(self, *_: Any) -> None:
        w0 = self._before
        offset = torch.sub(
            w0, self._ref, out=self._buffers.setdefault("offset", torch.empty_like(w0))
        )
        dist = float(offset.norm())
        g = self._flat([p.grad for p in self._params], "grad")
        inv_lr, decay = self._rates()
        delta = self._flat(list(self._params), "delta")
        torch.sub(w0, delta, out=delta)  # −Δw; the update direction is delta / η
        scale = 1.0
        if isinstance(inv_lr, Tensor):
            delta.mul_(inv_lr)
        else:
            scale = inv_lr
        go, gg = float(g @ offset), float(g @ g)
        row = [float(self.step), dist, *_stats(go, gg, dist)]
        row += _stats(float(delta @ offset) * scale, float(delta @ delta) * scale**2, dist)
        if isinstance(decay, Tensor) or decay != 0.0:  # g + a with a = λ ⊙ w0
            a = w0 * decay
            row += _stats(go + float(a @ offset), gg + 2 * float(a @ g) + float(a @ a), dist)
        else:
            row += _stats(go, gg, dist)
        row += self._random(gg**0.5, dist)
        if self._full is not None:
            row += self._pending or [float("nan")] * 3
        stage_rows = self._stage_rows + [[float("nan")] * 3] * self._stages
        for stage in stage_rows[: self._stages]:
            row += stage
        self._rows.append(row)
        self.step += 1
        if len(self._rows) >= self.chunk_size:
            self.flush()

    def _random(self, norm: float, dist: float) -> list[float]:
        rng = np.random.default_rng([self._seed, self.step])  # a resumed recording continues
        z, c = rng.standard_normal(), rng.chisquare(max(self.space.dim - 1, 1))
        cos = float(z / np.sqrt(z * z + c))
        eb = norm / dist if dist > 0 else float("nan")
        return [cos * eb, eb, cos]

    def closure(self, closure: Callable[[], Any]) -> Callable[[], Any]:
        """Wrap a step closure so the gradient of each call (stage) is recorded at its point."""

        def recorded() -> Any:
            loss = closure()
            if len(self._stage_rows) < self._stages:
                offset = self._flat(list(self._params)) - self._ref
                self._stage_rows.append(
                    _geometry(self._flat([p.grad for p in self._params]), offset)
                )
            return loss

        return recorded

    def flush(self) -> None:
        """Write the buffered rows as the next chunk (atomically)."""
        if not self._rows:
            return
        table = np.asarray(self._rows, dtype=np.float64)
        arrays = {c: table[:, i] for i, c in enumerate(self.columns)}
        path = self.directory / f"chunk_{self._chunks:06d}.npz"
        save_arrays(path, arrays, {})
        self._chunks += 1
        self._rows = []

    def close(self) -> None:
        """Flush and remove the hooks."""
        self.flush()
        for handle in self._handles:
            handle.remove()
        self._handles = []


def load_geometry(directory: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """All recorded rows of ``directory`` as column arrays (``step``, ``grad_gamma``, ...)."""
    root = Path(directory)
    meta = root / "meta.npz"
    if not meta.is_file():
        raise FileNotFoundError(f"{root} holds no recording (no meta.npz)")
    columns = load_arrays(meta)[1]["columns"]
    chunks = [load_arrays(c)[0] for c in sorted(root.glob("chunk_*.npz"))]
    return {c: np.concatenate([ch[c] for ch in chunks]) if chunks else np.empty(0) for c in columns}
