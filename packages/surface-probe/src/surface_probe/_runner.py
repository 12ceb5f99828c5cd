"""Evaluate a fixed list of probe points in chunks: resumable, sharded, with a progress bar.

A probe is P points, each evaluated by ``evaluate_chunk(indices) -> {metric: (len(indices),)}``.
The runner keeps every metric in a float64 array of length P plus a boolean ``done`` mask (so a
genuine value of 0 or nan is never confused with "missing").  With ``checkpoint=PATH`` the arrays,
mask and a fingerprint of the probe's arguments are written atomically after every chunk; a rerun
with the same fingerprint evaluates only the points whose mask is False, and a checkpoint with a
different fingerprint is refused.  Under torch.distributed, each block of ``chunk_size · world``
pending points is sharded over the ranks and gathered, so all ranks hold the full arrays; rank 0
writes the checkpoint.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from surface_probe import distributed
from surface_probe._checks import count
from surface_probe._fingerprint import check_fingerprint
from surface_probe._progress import progress_bar
from surface_probe.results import load_arrays, save_arrays

__all__ = ["run_points", "saved_fingerprint"]

ChunkFn = Callable[[np.ndarray], dict[str, np.ndarray]]


def saved_fingerprint(checkpoint: str | os.PathLike[str] | None) -> dict[str, Any] | None:
    """The fingerprint stored in an existing checkpoint file (None when there is none)."""
    if checkpoint is None or not Path(checkpoint).exists():
        return None
    fingerprint: dict[str, Any] = load_arrays(checkpoint)[1].get("fingerprint", {})
    return fingerprint


def _resume(
    path: Path, n_points: int, names: Sequence[str], fingerprint: dict[str, Any], desc: str
) -> tuple[dict[str, np.ndarray], np.ndarray] | None:
    if not path.exists():
        return None
    arrays, meta = load_arrays(path)
    check_fingerprint(path, meta.get("fingerprint"), fingerprint, f"another {desc} run")
    if any(k not in arrays or arrays[k].shape != (n_points,) for k in ("__done__", *names)):
        raise ValueError(f"checkpoint {path} does not hold {n_points} points of {list(names)}")
    done = arrays["__done__"].astype(bool)
    return {n: arrays[n].astype(np.float64) for n in names}, done


def run_points(
    n_points: int,
    evaluate_chunk: ChunkFn,
    names: Sequence[str],
    *,
    chunk_size: int,
    checkpoint: str | os.PathLike[str] | None,
    fingerprint: dict[str, Any],
    progress: bool | None,
    desc: str,
) -> dict[str, np.ndarray]:
    """Values of every metric in ``names`` at all ``n_points`` points, as float64 arrays (P,)."""
    chunk_size = count(chunk_size, "chunk_size", 1)
    rank, world = distributed.rank_and_world()
    path = Path(checkpoint) if checkpoint is not None else None
    state = _resume(path, n_points, names, fingerprint, desc) if path is not None else None
    distributed.barrier()  # every rank has read the checkpoint before rank 0 rewrites it
    if state is None:
        values = {n: np.full(n_points, np.nan) for n in names}
        done = np.zeros(n_points, dtype=bool)
    else:
        values, done = state
    pending = np.flatnonzero(~done)
    block = chunk_size * world
    with progress_bar(
        n_points, enabled=progress if rank == 0 else False, desc=desc, initial=int(done.sum())
    ) as bar:
        for start in range(0, pending.size, block):
            mine = distributed.shard(pending[start : start + block], rank, world)
            got = evaluate_chunk(mine) if mine.size else {n: np.empty(0) for n in names}
            for idx, vals in distributed.gather_values(mine, got):
                for n in names:
                    values[n][idx] = vals[n]
                done[idx] = True
            if path is not None and rank == 0:
                arrays = {"__done__": done, **values}
                save_arrays(path, arrays, {"fingerprint": fingerprint})
            bar.update(int(min(block, pending.size - start)))
    return values
