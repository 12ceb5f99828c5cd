"""The README's paths example runs as printed and reports every barrier."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_paths_example_runs() -> None:
    text = README.read_text(encoding="utf-8")
    match = re.search(r"<!-- paths-example[^>]*-->\n```python\n(.*?)```", text, re.S)
    assert match is not None, "paths example not found in README.md"
    done = subprocess.run(
        [sys.executable, "-c", match.group(1)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split()[0] for line in lines[:4]] == ["line", "fourier", "dss", "aligned"]
    for line in lines[:4]:
        for key in ("height", "lmc_barrier", "saddle", "mean_loss", "length"):
            assert f"'{key}'" in line
    assert lines[4].startswith("DSS connected:")
