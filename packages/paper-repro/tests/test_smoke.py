"""The whole pipeline on the smoke preset: every experiment, the report, then a resumed rerun that
trains nothing and recomputes nothing."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

from paper_repro.cli import main
from paper_repro.experiments import CLAIMS, EXPERIMENTS, applicable
from paper_repro.rules import NOT_RUN


def numbers_in(value: Any) -> list[float]:
    """Every number in a JSON tree."""
    if isinstance(value, dict):
        return [x for v in value.values() for x in numbers_in(v)]
    if isinstance(value, list):
        return [x for v in value for x in numbers_in(v)]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [float(value)]
    return []


def test_smoke_preset_end_to_end_and_resume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "smoke"
    assert main(["run", "all", "--preset", "smoke", "--out", str(out), "--only-train"]) == 0
    trained = capsys.readouterr().err
    assert "(0 run(s) trained)" not in trained
    assert not list(out.glob("*/result.json")), "--only-train analyses nothing"
    assert main(["run", "all", "--preset", "smoke", "--out", str(out)]) == 0
    first = capsys.readouterr().err
    assert "(0 run(s) trained)" in first, "--only-train trained every run, pilots included"
    assert not (out / "table1_lstm").exists(), "an image preset runs no language experiment"
    for name in applicable("image"):
        record = json.loads((out / name / "result.json").read_text())
        values = numbers_in(record["numbers"])
        assert values, name
        finite = [v for v in values if math.isfinite(v)]
        assert len(finite) >= 0.9 * len(values), f"{name}: too many non-finite numbers"
        for fig in record["figures"]:
            assert (out / fig).stat().st_size > 1000, fig
            assert (out / fig).with_suffix(".pdf").stat().st_size > 1000, fig
    pilots = json.loads((out / "pilots.json").read_text())
    assert {(p["role"], p["optimizer"]) for p in pilots} >= {("bn", "sgd"), ("conv_nobn", "sgd")}

    assert main(["report", "--out", str(out)]) == 0
    md = (out / "report.md").read_text()
    for name in applicable("image"):
        assert f"## {EXPERIMENTS[name].title}" in md
    assert EXPERIMENTS["table1_lstm"].title not in md
    for claim in CLAIMS:
        assert claim.paper[:40] in md
    assert NOT_RUN not in md.split("### Verdicts per tier")[0]
    assert "## Learning rates: the pilot runs" in md
    assert re.search(r"\| \d[\d.e-]* \(chosen(: the grid's (largest|smallest))?\) \|", md)
    assert (out / "report.html").read_text().count("<img") == md.count("![")

    image = applicable("image")
    stamps = {name: (out / name / "result.json").stat().st_mtime_ns for name in image}
    assert main(["run", "all", "--preset", "smoke", "--out", str(out)]) == 0
    second = capsys.readouterr().err
    assert "(0 run(s) trained)" in second
    assert second.count("already done, skipped") == len(image)
    assert stamps == {n: (out / n / "result.json").stat().st_mtime_ns for n in image}
