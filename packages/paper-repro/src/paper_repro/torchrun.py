"""The analyses under ``torchrun``: every process computes its shard of the probe grids, rank 0
writes.

Two sides of one command, ``run ... --launcher torchrun --nproc-per-node N``:

Launching side (no ``RANK``/``WORLD_SIZE`` in the environment)
    once every run is trained, :func:`torchrun_command` starts the same command line again as N
    processes, ``python -m torch.distributed.run --standalone --nproc-per-node N -m paper_repro
    run ...`` (one node: the processes of one job or machine).

Rank side (started by ``torchrun``, which sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` and the
rendezvous address)
    :func:`process_group` initialises the default process group — ``nccl`` with
    ``cuda:LOCAL_RANK`` when the preset's device resolves to CUDA on this node, ``gloo`` on the
    CPU — and tears it down at the end. surface-probe's runner then shards every probe grid
    round-robin over the ranks and gathers the values, so every rank holds the full grid; each
    point is evaluated exactly as in one process, so the numbers are bitwise those of the
    single-process path. Only rank 0 writes (:func:`paper_repro.files.write_atomic` is a no-op on
    the other ranks); the ranks train nothing (the launching side trained every run first).
"""

from __future__ import annotations

import contextlib
import datetime
import os
import sys
from collections.abc import Iterator, Mapping, Sequence

import torch
import torch.distributed as dist

from .device import resolve_device

RANK_WAIT = datetime.timedelta(hours=24)
"""How long a rank may wait at a barrier: No Wrong Turns' recordings are training passes that rank 0
makes while the others wait (hours at paper scale; the process group's default is 30 minutes)."""

__all__ = ["check_nproc", "process_group", "torchrun_command", "under_torchrun"]


def under_torchrun(environ: Mapping[str, str] = os.environ) -> bool:
    """True in a process started by ``torchrun`` (``RANK`` and ``WORLD_SIZE`` are set)."""
    return "RANK" in environ and "WORLD_SIZE" in environ


def check_nproc(nproc: int, device: str) -> None:
    """Raise ``ValueError`` naming ``--nproc-per-node`` unless ``nproc`` processes fit this node:
    at least 1, and on CUDA no more than the GPUs it sees (one GPU per process)."""
    if isinstance(nproc, bool) or not isinstance(nproc, int) or nproc < 1:
        raise ValueError(f"--nproc-per-node must be an integer >= 1, got {nproc!r}")
    if resolve_device(device).type == "cuda" and nproc > torch.cuda.device_count():
        raise ValueError(
            f"--nproc-per-node {nproc}: this node sees only {torch.cuda.device_count()} GPU(s) "
            "(one process per GPU)"
        )


def torchrun_command(nproc: int, run_argv: Sequence[str]) -> list[str]:
    """The command that runs ``python -m paper_repro RUN_ARGV`` as ``nproc`` ranks on this node;
    the console shows rank 0's output (every rank's failure is still reported by torchrun)."""
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc-per-node={nproc}",
        "--local-ranks-filter=0",
        "-m",
        "paper_repro",
        *run_argv,
    ]


@contextlib.contextmanager
def process_group(device: str) -> Iterator[int]:
    """Initialise the default process group from torchrun's environment for ``device`` (the
    preset's: auto/cpu/cuda), yield this process's rank, destroy the group on exit."""
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    backend = "gloo"
    if resolve_device(device).type == "cuda":
        visible = torch.cuda.device_count()
        if local_rank >= visible:
            raise ValueError(
                f"--nproc-per-node: local rank {local_rank} has no GPU (this node sees {visible})"
            )
        torch.cuda.set_device(local_rank)  # "cuda" now means this rank's GPU
        backend = "nccl"
    dist.init_process_group(backend, timeout=RANK_WAIT)
    try:
        yield dist.get_rank()
    finally:
        dist.destroy_process_group()
