"""Table 1 revisited with curves and permutations (extension): known answers for its claims and
a smoke run on Table 1's own runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from paper_repro.experiments import Context, judge_claim, run_experiment
from paper_repro.experiments.table1_paths import CLAIMS, DEVIATIONS, SOURCE
from paper_repro.presets import PRESETS
from paper_repro.rules import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED

CURVE, PERMUTATION = CLAIMS


def _pair(line: float, aligned: float, curve: float | None = None, **over: Any) -> dict[str, Any]:
    """A pair with drop 2.0 (init 2.3, finals 0.2 and 0.3), the given barrier ratios and, unless
    ``curve`` is None, a fitted curve."""
    return {
        "a": "sgd",
        "b": "adam",
        "init_loss": 2.3,
        "final_losses": [0.2, 0.3],
        "line_ratio": line,
        "aligned_ratio": aligned,
        "aligned_end_loss": 0.3,
        "permuted": True,
        "curve": curve,
        **over,
    }


def _numbers(*pairs: dict[str, Any]) -> dict[str, Any]:
    curves = [
        {
            "a": "sgd",
            "b": "adam",
            "line_ratio": p["line_ratio"],
            "curve_ratio": c,
            "curve_length": 1.1,
        }
        for p in pairs
        if (c := p.pop("curve")) is not None
    ]
    return {"optimizers": ["sgd", "adam"], "failed": [], "pairs": list(pairs), "curves": curves}


@pytest.mark.parametrize(
    ("numbers", "curve", "permutation"),
    [
        (_numbers(_pair(0.2, 0.01, 0.0), _pair(0.01, 0.01)), REPRODUCED, REPRODUCED),
        (_numbers(_pair(0.2, 0.19, 0.15), _pair(0.1, 0.1, 0.12)), NOT_REPRODUCED, NOT_REPRODUCED),
        (_numbers(_pair(0.2, 0.0, 0.0), _pair(0.2, 0.2, 0.2)), INCONCLUSIVE, INCONCLUSIVE),
        (
            _numbers(_pair(0.01, 0.0, 0.0), _pair(0.0, 0.0)),
            INCONCLUSIVE,
            INCONCLUSIVE,
        ),  # no barrier
        (_numbers(_pair(0.2, 0.2)), INCONCLUSIVE, NOT_REPRODUCED),  # no curve fitted
        (_numbers(_pair(0.2, 0.0, 0.0, aligned_end_loss=0.31)), REPRODUCED, INCONCLUSIVE),
    ],
)
def test_claims_known_answers(numbers: dict[str, Any], curve: str, permutation: str) -> None:
    assert judge_claim(CURVE, numbers).verdict == curve
    assert judge_claim(PERMUTATION, numbers).verdict == permutation


def test_smoke_run_reuses_table1_runs(tmp_path: Path) -> None:
    ctx = Context(PRESETS["smoke"], tmp_path)
    run_experiment(ctx, "table1")
    trained = ctx.train_calls
    record = run_experiment(ctx, "table1_paths")
    assert record is not None
    assert ctx.train_calls == trained, "Table 1's runs are reused, nothing is trained"
    numbers = record["numbers"]
    kept = [o for o in numbers["optimizers"] if o not in numbers["failed"]]
    assert len(numbers["pairs"]) == len(kept) * (len(kept) - 1) // 2
    (curve,) = numbers["curves"]  # smoke: table1_paths_pairs = 1
    top = max(numbers["pairs"], key=lambda p: p["line_ratio"])
    assert (curve["a"], curve["b"]) == (top["a"], top["b"]), "the largest line barrier's pair"
    # the fit keeps the iterate of lowest height, the straight line among them
    assert curve["curve_ratio"] <= top["line_ratio"] + 1e-6
    assert curve["curve_length"] >= 1.0 - 1e-9
    for p in numbers["pairs"]:
        assert p["aligned_end_loss"] == pytest.approx(p["final_losses"][1], rel=1e-4)
    assert (tmp_path / "table1_paths" / "table1_paths.pdf").stat().st_size > 1000
    for claim in CLAIMS:
        judge_claim(claim, numbers)
    assert SOURCE == "im_tao_branson_extension"
    assert DEVIATIONS
