"""The README's quickstart runs end to end and writes every figure and the saved result."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "quickstart.py"
FIGURES = ["line", "plane", "triangle", "basins", "pairwise"]


def test_quickstart_writes_figures_and_result(tmp_path: Path) -> None:
    out = tmp_path / "figures"
    env = {**os.environ, "MPLBACKEND": "Agg"}
    done = subprocess.run(
        [sys.executable, str(EXAMPLE), str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for name in FIGURES:
        png = out / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{png} is not a PNG"
    assert (out / "plane.npz").is_file()
    assert "functional distance sgd↔adam" in done.stdout
    assert "figures written to" in done.stdout
