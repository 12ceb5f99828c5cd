"""Freeman & Bruna (DSS along a level ladder): permutation alignment of the project's models,
the preset's ladder, known answers for the claims, and a smoke run."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import pytest
import torch

from paper_repro.experiments import EXPERIMENTS, Context, judge_claim, run_experiment
from paper_repro.experiments.alignment import aligned, permuted, traceable
from paper_repro.experiments.freeman_bruna import CLAIMS, DEVIATIONS, SOURCE
from paper_repro.models import build_model
from paper_repro.presets import PRESETS
from paper_repro.rules import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED

CONNECTED, CURVIER = CLAIMS


@pytest.mark.parametrize(
    ("name", "kwargs", "shape"),
    [
        ("cnn1d", {"channels": (4, 8)}, (5, 40)),
        ("mlp", {"hidden": (8, 6)}, (5, 40)),
        ("nin", {"width": 0.05}, (2, 3, 32, 32)),
        ("vgg", {"width": 0.0625}, (2, 3, 32, 32)),
    ],
)
def test_alignment_keeps_the_function_and_moves_toward_a(
    name: str, kwargs: dict[str, Any], shape: tuple[int, ...]
) -> None:
    torch.manual_seed(0)
    model_a, model_b = build_model(name, **kwargs).eval(), build_model(name, **kwargs).eval()
    a = {k: v.clone() for k, v in model_a.state_dict().items()}
    b = {k: v.clone() for k, v in model_b.state_dict().items()}
    x = torch.randn(shape)
    new = aligned(model_a, a, b)
    assert set(new) == set(b)
    moved = build_model(name, **kwargs).eval()
    moved.load_state_dict(new)
    torch.testing.assert_close(moved(x), model_b(x), rtol=1e-5, atol=1e-5)
    assert all(torch.equal(b[k], model_b.state_dict()[k]) for k in b), "θ_b is not modified"

    def distance(s: dict[str, torch.Tensor]) -> float:
        return sum(float((s[k].float() - a[k].float()).pow(2).sum()) for k in a)

    assert distance(new) < distance(b)
    assert permuted(b, new)
    assert not permuted(a, aligned(model_a, a, a)), "a network is aligned to itself as it is"


def test_alignment_refuses_a_model_it_cannot_trace() -> None:
    with pytest.raises(ValueError, match="permutation alignment supports cnn1d"):
        traceable(torch.nn.LSTM(2, 3))


def test_preset_ladder_is_checked() -> None:
    smoke = PRESETS["smoke"]
    for margins in ((0.5, 1.0), (), (1.0, 0.0), (1.0, 1.0)):
        with pytest.raises(ValueError, match="freeman_bruna_margins must be positive"):
            dataclasses.replace(smoke, freeman_bruna_margins=margins)
    with pytest.raises(ValueError, match="unknown optimizers \\['lbfgs'\\]"):
        dataclasses.replace(smoke, freeman_bruna_pairs=(("sgd", "lbfgs"),))
    assert all(min(p.freeman_bruna_margins) <= 0.25 for p in PRESETS.values())


def _case(lengths: list[float], connected: list[bool] | None = None, **over: Any) -> dict[str, Any]:
    """A pair whose minima sit at losses 1.0 and 0.8, its straight line rising to 3.0."""
    margins = [1.0, 0.5, 0.25, 0.1][: len(lengths)]
    flags = connected or [True] * len(lengths)
    rungs = [
        {
            "margin": m,
            "level": 1.0 + m,
            "connected": ok,
            "beads": 3,
            "normalized_length": length,
            "dense_height": 1.0 + m,
        }
        for m, ok, length in zip(margins, flags, lengths, strict=True)
    ]
    above = {"level": 3.15, "connected": True, "beads": 2, "normalized_length": 1.0}
    return {
        "pair": "sgd–adam",
        "kind": "optimizers",
        "aligned": False,
        "permuted": False,
        "end_losses": [1.0, 0.8],
        "line_height": 3.0,
        "above_line": above,
        "rungs": rungs,
        **over,
    }


def _numbers(*cases: dict[str, Any], untrained_connected: bool = False) -> dict[str, Any]:
    margins = [r["margin"] for r in cases[0]["rungs"]]
    untrained = [
        {"run": "sgd s0", "level": 1.1, "init_loss": 2.3, "connected": untrained_connected}
    ]
    return {"margins": margins, "pairs": list(cases), "untrained": untrained}


GROWING = [1.0, 1.05, 1.2, 1.5]


@pytest.mark.parametrize(
    ("numbers", "connected", "curvier"),
    [
        (_numbers(_case(GROWING), _case(GROWING)), REPRODUCED, REPRODUCED),
        (_numbers(_case(GROWING, [True, True, False, False])), NOT_REPRODUCED, INCONCLUSIVE),
        (_numbers(_case([1.5, 1.2, 1.05, 1.0])), REPRODUCED, NOT_REPRODUCED),
        (_numbers(_case([1.0, 1.0, 1.0, 1.0])), REPRODUCED, NOT_REPRODUCED),  # no growth
        (_numbers(_case(GROWING[:2])), INCONCLUSIVE, REPRODUCED),  # the ladder never gets low
        (_numbers(_case(GROWING, line_height=1.05)), REPRODUCED, INCONCLUSIVE),  # line suffices
        (_numbers(_case(GROWING), untrained_connected=True), INCONCLUSIVE, INCONCLUSIVE),
    ],
)
def test_claims_known_answers(numbers: dict[str, Any], connected: str, curvier: str) -> None:
    assert judge_claim(CONNECTED, numbers).verdict == connected
    assert judge_claim(CURVIER, numbers).verdict == curvier


@pytest.mark.parametrize(("permuted", "verdict"), [(False, REPRODUCED), (True, INCONCLUSIVE)])
def test_an_identity_alignment_does_not_count_twice(permuted: bool, verdict: str) -> None:
    broken = _case(GROWING, [True, True, True, False], aligned=True, permuted=permuted)
    assert judge_claim(CONNECTED, _numbers(_case(GROWING), broken)).verdict == verdict


@pytest.mark.parametrize(
    "broken",
    [
        {"above_line": {"level": 3.15, "connected": True, "beads": 3, "normalized_length": 1.01}},
        {"end_losses": [1.0, 1.9]},  # every dense height now overshoots its level's slack
    ],
)
def test_a_failed_control_makes_the_claims_inconclusive(broken: dict[str, Any]) -> None:
    numbers = _numbers(_case(GROWING, **broken))
    assert judge_claim(CONNECTED, numbers).verdict == INCONCLUSIVE
    assert judge_claim(CURVIER, numbers).verdict == INCONCLUSIVE


def test_smoke_run(tmp_path: Path) -> None:
    ctx = Context(PRESETS["smoke"], tmp_path)
    record = run_experiment(ctx, "freeman_bruna")
    assert record is not None
    numbers = record["numbers"]
    assert [c["pair"] for c in numbers["pairs"]] == ["sgd s0–s1"] * 2 + ["sgd–adam"] * 2
    for case in numbers["pairs"]:
        above = case["above_line"]
        assert above["connected"]
        assert above["beads"] == 2
        assert above["normalized_length"] == 1.0
        assert [r["margin"] for r in case["rungs"]] == [1.0, 0.25]
        for r in case["rungs"]:
            assert r["level"] == pytest.approx((1 + r["margin"]) * max(case["end_losses"]))
            assert r["normalized_length"] >= 1.0
            assert math.isfinite(r["dense_height"])
    (control,) = numbers["untrained"]
    if control["init_loss"] > control["level"]:  # an endpoint above the level: never connected
        assert not control["connected"]
    assert (tmp_path / "freeman_bruna" / "freeman_bruna.pdf").stat().st_size > 1000
    for claim in CLAIMS:
        judge_claim(claim, numbers)  # the saved numbers fit the declared schema
    assert EXPERIMENTS["freeman_bruna"].claims == CLAIMS
    assert SOURCE == "freeman_bruna"
    assert DEVIATIONS
