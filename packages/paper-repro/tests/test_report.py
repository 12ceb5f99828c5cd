"""The report: verdicts follow the documented rules on synthetic results, missing experiments are
"not run", and both documents name every figure and table."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import pytest

from paper_repro import claims
from paper_repro.claims import INCONCLUSIVE, NOT_REPRODUCED, NOT_RUN, REPRODUCED
from paper_repro.experiments import EXPERIMENTS
from paper_repro.report import write_report


def write(out: Path, name: str, numbers: dict[str, Any]) -> None:
    path = out / name / "result.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"experiment": name, "preset": "test", "seeds": 3, "figures": [], "numbers": numbers}
    path.write_text(json.dumps(record))


def pair(barrier_ratio: float, rms: float, dis: float) -> dict[str, Any]:
    return {
        "barrier_ratio": barrier_ratio,
        "rms": rms,
        "disagreement": dis,
        "disagreement_ratio": dis / 0.22,
    }


def verdicts(out: Path) -> dict[str, str]:
    """Claim id → verdict, read back from the Markdown report's per-experiment tables."""
    md = (out / "report.md").read_text()
    found = {}
    for c in claims.CLAIMS:
        rows = [line for line in md.splitlines() if line.startswith(f"| {c.paper[:40]}")]
        found[c.id] = rows[-1].rstrip(" |").rsplit("| ", 1)[-1]
    return found


def test_rules_have_known_answers() -> None:
    assert claims.share([True] * 9 + [False]) == REPRODUCED
    assert claims.share([True] * 8 + [False] * 2) == INCONCLUSIVE
    assert claims.share([True] * 4 + [False] * 6) == NOT_REPRODUCED
    assert claims.larger([3.0, 3.1, 2.9], [1.0, 1.1, 0.9]) == REPRODUCED
    assert claims.larger([1.0, 1.1, 0.9], [3.0, 3.1, 2.9]) == NOT_REPRODUCED
    assert claims.larger([1.0, 3.0], [1.5, 1.6]) == INCONCLUSIVE  # d = 0.45, se ≈ 1.0
    assert claims.worst([REPRODUCED, INCONCLUSIVE]) == INCONCLUSIVE
    assert claims.worst([REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE]) == NOT_REPRODUCED


@pytest.mark.parametrize("good", [True, False])
def test_verdicts_follow_the_rules(tmp_path: Path, good: bool) -> None:
    ratio, rms, dis = (0.5, 0.15, 0.09) if good else (0.0, 0.5, 0.01)
    write(tmp_path, "table1", {"pairs": [pair(ratio, rms, dis) for _ in range(6)]})
    sgd, rk = ([1.0, 1.1, 0.9], [0.5, 0.55, 0.45]) if good else ([0.5, 0.55, 0.45], [1.0, 1.1, 0.9])
    losses = {
        "sgd": sgd,
        "heun": rk,
        "ralston": rk,
        "midpoint": [2.0, 2.1, 2.2],
        "adam": [0.1, 0.1, 0.1],
        "adam_rk2": [0.3, 0.3, 0.3] if good else [0.05, 0.05, 0.05],
    }
    write(tmp_path, "fig9", {"final_train_loss": losses, "loss_at_budget": losses})
    write_report(tmp_path)
    got = verdicts(tmp_path)
    expected = REPRODUCED if good else NOT_REPRODUCED
    for cid in (
        "T1-barrier",
        "T1-distance",
        "T1-different",
        "F9-rk-epoch",
        "F9-rk-evals",
        "F9-adam",
    ):
        assert got[cid] == expected, cid
    assert got["F9-midpoint"] == REPRODUCED  # midpoint worse than SGD in both cases
    for c in claims.CLAIMS:
        if c.experiment not in ("table1", "fig9"):
            assert got[c.id] == NOT_RUN, c.id


def test_report_names_every_figure_and_marks_missing(tmp_path: Path) -> None:
    write(tmp_path, "fig10", {"rise": {"sgd": [0.5, -0.2, -0.1]}})
    md_path, html_path = write_report(tmp_path)
    md, page = md_path.read_text(), html_path.read_text()
    for exp in EXPERIMENTS.values():
        assert exp.title in md
        assert html.escape(exp.title) in page
    assert "Not run: `table1/result.json` is missing." in md
    assert verdicts(tmp_path)["F10-rise"] == NOT_REPRODUCED  # 1 of 3 rises > 0: < 50 %
    assert page.startswith("<!DOCTYPE html>")
    assert "<img" not in page


def test_malformed_numbers_are_inconclusive_not_a_crash(tmp_path: Path) -> None:
    write(tmp_path, "fig4", {"accuracy": {}})
    write_report(tmp_path)
    assert verdicts(tmp_path)["F4-test"] == INCONCLUSIVE


def test_report_needs_an_existing_directory(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        write_report(tmp_path / "missing")
