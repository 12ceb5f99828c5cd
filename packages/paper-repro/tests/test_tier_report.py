"""The report by tier on synthetic reproduction directories (no training): verdicts side by side,
"does not apply" where a claim's experiment does not run on a tier, the agreement line, counts per
tier, each tier's setup, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from paper_repro.cli import main
from paper_repro.presets import PRESETS
from paper_repro.rules import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED
from paper_repro.tier_report import agreement, build


def tier(root: Path, preset: str, results: dict[str, dict[str, Any]]) -> Path:
    out = root / preset
    out.mkdir()
    (out / "preset.json").write_text(json.dumps(PRESETS[preset].to_dict()))
    for name, numbers in results.items():
        (out / name).mkdir()
        record = {"experiment": name, "figures": [], "excluded": [], "numbers": numbers}
        (out / name / "result.json").write_text(json.dumps(record))
    return out


def rows(md: str, claim_id: str) -> list[str]:
    (line,) = [x for x in md.splitlines() if x.startswith(f"| {claim_id}: ")]
    return [cell.strip() for cell in line.strip("|").split(" | ")][1:]


def test_verdicts_side_by_side(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], table1_numbers: Any
) -> None:
    dirs = [
        tier(tmp_path, "cpu", {"table1": table1_numbers([0.004], 0.4)}),
        tier(tmp_path, "fashion_demo", {"table1": table1_numbers([0.33], 0.4)}),
        tier(tmp_path, "lstm", {"table1_lstm": table1_numbers([0.2], 0.4)}),
    ]
    report = tmp_path / "report"
    argv = ["report", "--out", str(report)]
    assert main([*argv, *[x for d in dirs for x in ("--tier", str(d))]]) == 0
    assert "tiers.md" in capsys.readouterr().out
    md = (report / "tiers.md").read_text()
    header = next(x for x in md.splitlines() if x.startswith("| Claim |"))
    for column in ("MNIST-1D CNN (cpu)", "NIN/VGG on Fashion-MNIST (fashion_demo)", "LSTM"):
        assert column in header
    assert "paper scale" in header
    assert rows(md, "T1-barrier") == [
        NOT_REPRODUCED,
        REPRODUCED,
        REPRODUCED,
        "not run here",
        f"tiers disagree: {REPRODUCED} ×2, {NOT_REPRODUCED} ×1",
    ]
    assert rows(md, "T1-different")[:3] == [REPRODUCED] * 3
    assert rows(md, "T1-different")[-1] == f"all 3 judging tiers agree: {REPRODUCED}"
    fig10 = rows(md, "F10-rise")
    assert fig10[:3] == ["not run", "not run", "does not apply"]
    assert fig10[-1] == "no tier judged it"
    # summary: the LSTM judges T1-barrier and T1-different, both reproduced
    summary = next(x for x in md.splitlines() if x.startswith("| LSTM"))
    assert summary.split(" | ")[1:3] == ["2", "0"]
    assert "Fashion-MNIST" in md.split("## Setup and deviations of each tier")[1]
    assert (report / "tiers.html").read_text().startswith("<!DOCTYPE html>")


def test_agreement_line() -> None:
    assert agreement([REPRODUCED, "does not apply", "not run"]) == (
        f"judged on one tier only ({REPRODUCED})"
    )
    assert agreement([INCONCLUSIVE, INCONCLUSIVE]) == f"all 2 judging tiers agree: {INCONCLUSIVE}"


def test_bad_tier_directories_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report"
    assert main(["report", "--out", str(out), "--tier", str(tmp_path / "nothing")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --tier ")
    assert err.rstrip().endswith("no preset.json (nothing was run there)")
    cpu = tier(tmp_path, "cpu", {})
    with pytest.raises(ValueError, match="the same preset twice"):
        build([cpu, cpu])
