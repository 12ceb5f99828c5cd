"""The report: verdicts read back from the documents, missing experiments are "not run", both
documents name every figure and table, the pilot table and the failed runs left out are shown, and
malformed numbers stop the report with the claim and key named."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import pytest

from paper_repro.claims import NumbersError
from paper_repro.experiments import CLAIMS, EXPERIMENTS, applicable
from paper_repro.experiments.context import save_pilots
from paper_repro.pilot import PilotRow
from paper_repro.report import write_report
from paper_repro.rules import NOT_REPRODUCED, NOT_RUN, REPRODUCED


def write(out: Path, name: str, numbers: dict[str, Any], excluded: Any = ()) -> None:
    path = out / name / "result.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "experiment": name,
        "preset": "test",
        "seeds": 3,
        "figures": [],
        "excluded": list(excluded),
        "numbers": numbers,
    }
    path.write_text(json.dumps(record))


def fig10(rises: list[float]) -> dict[str, Any]:
    return {"optimizers": [], "alphas": [], "loss": {}, "rise": {"sgd": rises}, "rise_summary": {}}


def verdicts(out: Path) -> dict[str, str]:
    """Claim id → verdict, read back from the Markdown report's per-experiment tables."""
    md = (out / "report.md").read_text()
    found = {}
    for c in CLAIMS:
        rows = [line for line in md.splitlines() if line.startswith(f"| {c.paper[:40]}")]
        found[c.id] = rows[-1].rstrip(" |").rsplit("| ", 1)[-1]
    return found


def test_report_names_every_figure_and_marks_missing(tmp_path: Path) -> None:
    write(tmp_path, "fig10", fig10([0.5, -0.2, -0.1]))
    md_path, html_path = write_report(tmp_path)
    md, page = md_path.read_text(), html_path.read_text()
    for name in applicable("image"):  # no preset.json: the image experiments
        assert EXPERIMENTS[name].title in md
        assert html.escape(EXPERIMENTS[name].title) in page
    assert EXPERIMENTS["table1_lstm"].title not in md
    assert "Not run: `table1/result.json` is missing." in md
    assert verdicts(tmp_path)["F10-rise"] == NOT_REPRODUCED  # 1 of 3 rises > 0: < 50 %
    assert page.startswith("<!DOCTYPE html>")
    assert "<img" not in page
    assert verdicts(tmp_path)["T1-barrier"] == NOT_RUN


def test_report_lists_pilots_and_left_out_runs(tmp_path: Path) -> None:
    rows = [
        PilotRow("bn", "sgd", 0.2, 5, float("nan"), 0.1, 0.1, "diverged: train_loss non-finite"),
        PilotRow("bn", "sgd", 0.1, 5, 0.4, 0.88, 0.9, None),
    ]
    save_pilots(tmp_path, rows, 0.1)
    left_out = [{"run": "cnn1d (BN) midpoint lr=0.4 seed=1", "reason": "diverged: at epoch 3"}]
    write(tmp_path, "fig10", fig10([0.5] * 3), left_out)
    md = write_report(tmp_path)[0].read_text()
    assert "| bn | sgd | 0.1 (chosen: the grid's smallest) | 5 | 0.4 | 0.880 | 0.900 |" in md
    assert "| bn | sgd | 0.2 | 5 | nan | 0.100 | 0.100 — diverged: train_loss non-finite |" in md
    assert "- cnn1d (BN) midpoint lr=0.4 seed=1: diverged: at epoch 3" in md
    assert verdicts(tmp_path)["F10-rise"] == REPRODUCED


def test_report_flags_rates_chosen_at_an_end_of_their_grid(tmp_path: Path) -> None:
    def pilots(optimizer: str, rates: tuple[float, ...], chosen: float) -> None:
        rows = [PilotRow("bn", optimizer, lr, 3, 1.0 + lr, 0.8, 0.8, None) for lr in rates]
        save_pilots(tmp_path, rows, chosen)

    pilots("sgd", (0.2, 0.1, 0.05), 0.2)
    pilots("adam", (0.002, 0.001, 0.0005), 0.001)
    pilots("heun", (0.4, 0.2), 0.2)
    write(tmp_path, "fig10", fig10([0.5] * 3))
    md = write_report(tmp_path)[0].read_text()
    assert "| bn | sgd | 0.2 (chosen: the grid's largest) |" in md
    assert "| bn | adam | 0.001 (chosen) |" in md
    assert "| bn | heun | 0.2 (chosen: the grid's smallest) |" in md
    assert (
        "Chosen at an end of the grid, so a better rate may lie beyond it: bn sgd 0.2 (largest), "
        "bn heun 0.2 (smallest)." in md
    )


def test_malformed_numbers_stop_the_report_naming_claim_and_key(tmp_path: Path) -> None:
    write(tmp_path, "fig4", {"accuracy": {}})
    with pytest.raises(NumbersError, match="claim F4-stereotypy: the numbers lack key"):
        write_report(tmp_path)
    assert not (tmp_path / "report.md").exists()


def test_report_needs_an_existing_directory(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        write_report(tmp_path / "missing")
