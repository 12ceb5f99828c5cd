"""Two gloo ranks on CPU give the same plane as one process; every rank gets the full result."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch.multiprocessing as mp

import surface_probe as sp
from surface_probe import distributed
from surface_probe.results import load_arrays

TESTS = Path(__file__).resolve().parent


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_single_process_is_one_rank() -> None:
    assert distributed.rank_and_world() == (0, 1)
    idx = np.arange(7)
    np.testing.assert_array_equal(distributed.shard(idx, 1, 3), [1, 4])
    vals = {"loss": np.ones(7)}
    assert distributed.gather_values(idx, vals) == [(idx, vals)]


def test_two_gloo_ranks_match_one_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(TESTS))  # spawned children inherit sys.path
    import _dist_worker

    single = _dist_worker.probe_plane()
    spawn: Any = mp.spawn  # type: ignore[attr-defined]
    ctx = spawn(_dist_worker.run, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=False)
    deadline = time.monotonic() + 90
    while not ctx.join(timeout=1):
        if time.monotonic() > deadline:
            for p in ctx.processes:
                p.terminate()
            pytest.fail("distributed workers timed out")
    for rank in range(2):
        res = sp.SurfaceResult.load(tmp_path / f"rank{rank}.npz")
        np.testing.assert_array_equal(res.loss, single.loss)  # bitwise
        np.testing.assert_array_equal(res.metrics["accuracy"], single.metrics["accuracy"])
    arrays, _ = load_arrays(tmp_path / "ckpt.npz")  # rank 0's checkpoint holds every point
    assert arrays["__done__"].all()
    np.testing.assert_array_equal(arrays["loss"].reshape(4, 5), single.loss)
