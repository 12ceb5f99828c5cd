"""The report over several tiers on synthetic reproduction directories (no training): verdicts
side by side, "does not apply" where a claim's experiment does not run on a tier, the agreement
line, counts per tier, one section per paper, each tier's setup, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from paper_repro.cli import main
from paper_repro.presets import PRESETS
from paper_repro.report import agreement, build
from paper_repro.rules import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED


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
    """The summary row of ``claim_id``: its cells after the claim."""
    (line,) = [x for x in md.splitlines() if f" | {claim_id}: " in x]
    cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
    return cells[next(i for i, c in enumerate(cells) if c.startswith(f"{claim_id}: ")) + 1 :]


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
    assert "report.md" in capsys.readouterr().out
    md = (report / "report.md").read_text()
    header = next(x for x in md.splitlines() if x.startswith("| Paper | Figure / table | Claim |"))
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
    assert (report / "report.html").read_text().startswith("<!DOCTYPE html>")
    # each tier's own section of Table 1, under the paper's heading
    im_et_al = md.split("## Im, Tao & Branson (2016)")[1].split("\n## ")[0]
    assert "#### Table 1 on NIN/VGG on Fashion-MNIST (fashion_demo)" in im_et_al
    assert "#### Table 1 (LSTM) on LSTM" in im_et_al


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
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = tier(tmp_path / "a", "cpu", {}), tier(tmp_path / "b", "cpu", {})
    with pytest.raises(ValueError, match="the same preset twice"):
        build(out, [first, second])
    assert len([b for b in build(first, [first]) if b.kind == "heading" and b.data[0] == 1]) == 1


def test_every_experiment_answers_a_known_paper() -> None:
    from types import SimpleNamespace

    from paper_repro.experiments import EXPERIMENTS, _experiment
    from paper_repro.papers import PAPERS

    assert {e.source for e in EXPERIMENTS.values()} <= set(PAPERS)
    stray = SimpleNamespace(__name__="stray", SOURCE="nobody_2099", NAME="stray")
    with pytest.raises(ValueError, match=r"stray\.SOURCE 'nobody_2099' is not in papers\.PAPERS"):
        _experiment(stray)  # type: ignore[arg-type]


def test_each_directory_is_one_tier_in_the_order_first_named(tmp_path: Path) -> None:
    from paper_repro.report.tiers import load_tiers

    cpu = tier(tmp_path, "cpu", {})
    lstm = tier(tmp_path, "lstm", {})
    tiers = load_tiers(cpu, [lstm, cpu, tmp_path / "cpu" / ".." / "lstm", cpu])
    assert [t.run_dir for t in tiers] == [cpu, lstm]


def test_the_report_names_run_directories_relative_to_itself(tmp_path: Path) -> None:
    # The same runs reported from two places give the same text: no absolute path is written.
    for where in ("a", "b"):
        root = tmp_path / where
        root.mkdir()
        cpu, lstm = tier(root, "cpu", {}), tier(root, "lstm", {})
        main(["report", "--out", str(cpu), "--tier", str(lstm)])
    md = [(tmp_path / w / "cpu" / "report.md").read_text() for w in ("a", "b")]
    assert md[0] == md[1]
    assert str(tmp_path) not in md[0]
    assert "Run directory: this report's directory." in md[0]
    assert "Run directory: `../lstm`." in md[0]
