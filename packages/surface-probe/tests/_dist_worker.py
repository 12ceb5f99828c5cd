"""Worker for test_distributed: one rank of a two-process gloo group running a plane probe."""

from __future__ import annotations

from typing import Any

import torch
import torch.distributed as dist
from torch import nn

import surface_probe as sp


def tiny_problem() -> tuple[nn.Module, tuple[torch.Tensor, torch.Tensor]]:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 3)).double()
    data = (torch.randn(20, 4, dtype=torch.float64), torch.randint(0, 3, (20,)))
    return net, data


def probe_plane(**extra: Any) -> sp.SurfaceResult:
    """The plane probe both the two-rank run and the single-process reference evaluate."""
    net, data = tiny_problem()
    return sp.plane(
        net,
        net,
        data,
        seed=3,
        resolution=(5, 4),
        chunk_size=2,
        metrics=["accuracy"],
        progress=False,
        **extra,
    )


def run(rank: int, world: int, port: int, out_dir: str) -> None:
    dist.init_process_group(
        "gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world
    )
    try:
        res = probe_plane(checkpoint=f"{out_dir}/ckpt.npz")
        res.save(f"{out_dir}/rank{rank}.npz")
    finally:
        dist.destroy_process_group()
