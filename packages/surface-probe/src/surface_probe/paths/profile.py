"""The loss profile of a path and its barriers: L(θ(t_i)) at parameter values t_i.

Points are built chunk by chunk from the path's anchors and evaluated by one private
:class:`~surface_probe.Evaluator` through the shared runner (checkpoint, progress, sharding).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from surface_probe._checks import count
from surface_probe._fingerprint import digest, inputs_fingerprint
from surface_probe._runner import run_points
from surface_probe.evaluate import Evaluator
from surface_probe.paths._common import evaluator
from surface_probe.paths.families import Path, as_ts
from surface_probe.paths.results import PathResult
from surface_probe.probes import ProbeOptions

if sys.version_info >= (3, 11):
    from typing import Unpack

__all__ = ["barriers", "evaluate_path", "path_height", "path_profile", "segment_lengths"]


def barriers(ts: np.ndarray, loss: np.ndarray, lengths: np.ndarray) -> dict[str, float]:
    """Every barrier of a sampled profile (formulas in :class:`PathResult`)."""
    la, lb = float(loss[0]), float(loss[-1])
    top = float(np.max(loss))
    total = float(np.sum(lengths))
    trapezoids = 0.5 * (loss[1:] + loss[:-1])
    return {
        "height": top,
        "lmc_barrier": float(np.max(loss - ((1.0 - ts) * la + ts * lb))),
        "saddle": top - max(la, lb),
        "mean_loss": float(np.sum(trapezoids * lengths) / total) if total > 0 else top,
        "length": total,
    }


def segment_lengths(p: Path, ts: Tensor, chunk: int = 32) -> np.ndarray:
    """ℓ_i = ‖θ(t_{i+1}) − θ(t_i)‖ in float64, built ``chunk`` points at a time."""
    out: list[Tensor] = []
    for start in range(0, ts.numel() - 1, chunk):
        pts = p.points(ts[start : start + chunk + 1]).double()
        out.append(torch.linalg.vector_norm(pts[1:] - pts[:-1], dim=1))
    return torch.cat(out).cpu().numpy() if out else np.empty(0)


def _check_path(ev: Evaluator, p: Path) -> Path:
    if not isinstance(p, Path):
        raise TypeError(f"path must be a surface_probe Path, got {type(p).__name__}")
    if p.dim != ev.space.dim:
        raise ValueError(f"path has dim {p.dim} but the model has {ev.space.dim} parameters")
    return p


def evaluate_path(
    ev: Evaluator, p: Path, ts: Tensor, options: ProbeOptions, desc: str
) -> dict[str, np.ndarray]:
    """Loss and metrics at θ(t) for every t, through the runner (float64 arrays (T,))."""
    interpolate = ev.bn == "interpolate"

    def evaluate_chunk(idx: np.ndarray) -> dict[str, np.ndarray]:
        t = ts[torch.as_tensor(idx, dtype=torch.long)]
        bufs = p.point_buffers(t).to(ev.device) if interpolate else None
        return ev.evaluate(p.points(t).to(ev.device), bufs)

    fingerprint = {
        "kind": f"path/{p.kind}",
        "ts": digest(ts),
        "anchors": digest(p.ends, p.free),
        "buffers": digest(p.buffers if interpolate else None),
        "metrics": list(ev.metric_names),
        **{k: ev.meta()[k] for k in ("bn", "precision", "num_examples", "dtype")},
        **inputs_fingerprint(ev, options),
    }
    return run_points(
        ts.numel(),
        evaluate_chunk,
        ev.metric_names,
        chunk_size=32 if options.get("chunk_size") is None else int(options["chunk_size"]),  # type: ignore[arg-type]
        checkpoint=options.get("checkpoint"),
        fingerprint=fingerprint,
        progress=options.get("progress"),
        desc=desc,
    )


def _default_ts(p: Path, steps: int) -> np.ndarray:
    ts = np.linspace(0.0, 1.0, steps)
    if p.kind in ("polychain", "beads"):  # sample every node so the chain's length is exact
        ts = np.union1d(ts, p.knots().numpy())
    return ts


def path_height(ev: Evaluator, p: Path, steps: int, chunk_size: int | None) -> float:
    """H = max_i L(θ(t_i)) on :func:`path_profile`'s default grid (``steps`` points plus a
    chain's nodes); nan when any L(θ(t_i)) is nan."""
    options: ProbeOptions = {"progress": False, "chunk_size": chunk_size}
    loss = evaluate_path(ev, p, as_ts(_default_ts(p, steps)), options, desc="path height")["loss"]
    return float(np.max(loss))


def path_profile(
    model: nn.Module,
    path: Path,
    data: Any,
    *,
    ts: Sequence[float] | np.ndarray | None = None,
    steps: int = 61,
    **options: Unpack[ProbeOptions],
) -> PathResult:
    """Loss, metrics and every barrier along ``path`` at ``ts`` (default ``linspace(0, 1,
    steps)``, plus the nodes of a chain).  t = 0 and t = 1 evaluate exactly θ_a and θ_b under the
    same BN policy as any probe of the endpoints.

    Shared keyword options: :class:`~surface_probe.ProbeOptions`.
    """
    ev = evaluator("path_profile", model, data, options)
    p = _check_path(ev, path)
    if ts is None:
        count(steps, "steps", 2)
    t = as_ts(_default_ts(p, steps) if ts is None else ts)
    values = evaluate_path(ev, p, t, options, desc=f"path_profile/{p.kind}")
    lengths = segment_lengths(p, t)
    tn = t.numpy()
    loss = values.pop("loss")
    meta: dict[str, Any] = {**ev.meta(), "kind": "path_profile", "path": p.kind}
    meta.update(anchors=int(p.free.shape[0]), chord=float(segment_lengths(p, as_ts([0.0, 1.0]))[0]))
    return PathResult(
        ts=tn,
        loss=loss,
        segment_lengths=lengths,
        metrics=values,
        meta=meta,
        **barriers(tn, loss, lengths),
    )
