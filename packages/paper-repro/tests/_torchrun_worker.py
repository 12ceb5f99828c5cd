"""One torchrun rank for test_torchrun: ``python _torchrun_worker.py LOG_DIR RUN_ARGV...``.

Runs ``python -m paper_repro RUN_ARGV`` and records, in ``LOG_DIR/rank<RANK>.json``, every file
under ``--out`` this process opened for writing, renamed onto or removed (Python's audit
events: every write, whoever makes it) and how many probe points surface-probe's sharding
gave it.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

from surface_probe import distributed

WRITE_FLAGS = os.O_WRONLY | os.O_RDWR


def main(log_dir: str, argv: list[str]) -> int:
    from paper_repro.cli import main as cli_main

    out = str(Path(argv[argv.index("--out") + 1]).resolve())
    writes: list[str] = []

    def audit(event: str, args: tuple[Any, ...]) -> None:
        if event == "open" and isinstance(args[2], int) and args[2] & WRITE_FLAGS:
            written = args[0]  # (path, mode, flags)
        elif event == "os.rename":
            written = args[1]  # (src, dst, src_dir_fd, dst_dir_fd)
        elif event == "os.remove":
            written = args[0]
        else:
            return
        if isinstance(written, str) and os.path.abspath(written).startswith(out):
            writes.append(f"{event} {written}")

    shard = distributed.shard
    points: list[int] = []

    def counting_shard(indices: np.ndarray, rank: int, world: int) -> np.ndarray:
        mine = shard(indices, rank, world)
        points.append(int(mine.size))
        return mine

    distributed.shard = counting_shard  # the runner calls distributed.shard(...)
    sys.addaudithook(audit)
    code = cli_main(argv)
    record = {"writes": writes, "points": sum(points), "world": os.environ["WORLD_SIZE"]}
    log = Path(log_dir) / f"rank{os.environ['RANK']}.json"
    log.write_text(json.dumps(record))  # outside --out: not recorded
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
