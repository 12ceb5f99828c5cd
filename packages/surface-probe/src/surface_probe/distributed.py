"""Sharding probe points over torch.distributed ranks.

When ``torch.distributed`` is initialised (e.g. under ``torchrun``; gloo on CPU, nccl on GPU),
each block of points is split round-robin over the ranks, every rank evaluates its share, and
the values are gathered so that every rank ends with the full result.  Without an initialised
process group this is a single rank and nothing is communicated.
"""

from __future__ import annotations

import numpy as np
import torch.distributed as dist

__all__ = ["gather_values", "rank_and_world", "shard"]


def rank_and_world() -> tuple[int, int]:
    """(rank, world size) of the default process group, or (0, 1) when there is none."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def shard(indices: np.ndarray, rank: int, world: int) -> np.ndarray:
    """This rank's share of ``indices``: every ``world``-th element starting at ``rank``."""
    return indices[rank::world]


def gather_values(
    indices: np.ndarray, values: dict[str, np.ndarray]
) -> list[tuple[np.ndarray, dict[str, np.ndarray]]]:
    """All ranks' (indices, values) pairs, on every rank (``all_gather_object``)."""
    _, world = rank_and_world()
    if world == 1:
        return [(indices, values)]
    out: list[object] = [None] * world
    dist.all_gather_object(out, (indices, values))
    return [pair for pair in out]  # type: ignore[misc]


def barrier() -> None:
    """Wait for all ranks (no-op on a single process)."""
    if rank_and_world()[1] > 1:
        dist.barrier()
