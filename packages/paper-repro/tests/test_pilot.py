"""The learning-rate pilot and failed-run screening: known choices on synthetic rows, and a tiny
real pilot whose diverging and frozen rates are flagged and whose working rate is chosen."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest

from paper_repro.experiments import Context
from paper_repro.experiments.context import load_pilots
from paper_repro.pilot import PilotRow, choose, pilot_configs
from paper_repro.presets import PRESETS
from paper_repro.screening import describe, failure
from paper_repro.train import RunResult


def row(lr: float, loss: float, failed: str | None = None) -> PilotRow:
    return PilotRow("bn", "sgd", lr, 5, loss, 0.5, 0.5, failed)


def test_choose_takes_the_lowest_held_out_loss_among_runs_that_trained() -> None:
    assert choose([row(0.2, 0.1, "failed"), row(0.1, 0.5), row(0.05, 0.4)]) == 0.05
    assert choose([row(0.1, 0.4), row(0.05, 0.4)]) == 0.05  # a tie: the smaller rate
    assert choose([row(0.2, math.nan, "diverged"), row(0.1, 2.0, "failed")]) == 0.1
    assert choose([row(0.2, math.nan, "diverged"), row(0.1, math.inf, "diverged")]) == 0.1
    with pytest.raises(ValueError, match="at least one pilot row"):
        choose([])


def history(*records: tuple[float, float]) -> list[dict[str, float]]:
    return [
        {"epoch": e, "train_loss": loss, "test_loss": loss, "train_acc": acc}
        for e, (loss, acc) in enumerate(records)
    ]


def test_failure_flags_non_finite_losses_and_chance_accuracy() -> None:
    assert failure(history((2.3, 0.1), (0.5, 0.9)), chance=0.1) is None
    assert failure(history((2.3, 0.1), (math.nan, 0.9)), 0.1) == (
        "diverged: train_loss non-finite at epoch 1"
    )
    assert failure(history((2.3, 0.1), (7.7, 0.23)), 0.1) == (
        "diverged: final train loss 7.7 not below the initial 2.3"
    )
    flagged = failure(history((2.3, 0.1), (2.2, 0.149)), 0.1)
    assert flagged is not None
    assert flagged.startswith("failed: final train accuracy 0.149 within 5 points")
    assert failure(history((2.3, 0.1), (2.2, 0.151)), 0.1) is None


def test_pilot_configs_cover_the_grid_at_a_fraction_of_the_epochs() -> None:
    cpu = PRESETS["cpu"]
    configs = pilot_configs(cpu, "bn", "heun")
    assert [c.lr for c in configs] == [0.4, 0.2, 0.1, 0.02]
    assert {(c.epochs, c.init_seed, c.data_seed, c.init) for c in configs} == {(5, 0, 0, "default")}
    assert {c.epochs for c in pilot_configs(cpu, "conv_nobn", "sgd")} == {3}


def test_a_tiny_pilot_flags_bad_rates_and_chooses_the_working_one(tmp_path: Path) -> None:
    smoke = PRESETS["smoke"]
    preset = dataclasses.replace(smoke, lr_grid={**smoke.lr_grid, "sgd": (1e4, 0.5, 1e-7)})
    preset = dataclasses.replace(preset, pilot_fraction=1.0, epochs=3)
    ctx = Context(preset=preset, out_dir=tmp_path, progress=False)
    assert ctx.rate("bn", "sgd") == 0.5
    (entry,) = load_pilots(tmp_path)
    assert entry["chosen"] == 0.5
    reasons = {r["lr"]: r["failure"] for r in entry["rows"]}
    assert reasons[1e4] is not None
    assert reasons[1e-7] is not None
    assert reasons[1e-7].startswith("failed: final train accuracy")
    assert reasons[0.5] is None
    assert ctx.train_calls == 3
    again = Context(preset=preset, out_dir=tmp_path, progress=False)
    assert again.config("bn", "sgd", seed=1).lr == 0.5
    assert again.config("bn", "sgd", seed=1, lr_scale=2.0).lr == 1.0
    assert again.train_calls == 0, "pilots are cached runs"


def test_describe_names_the_run() -> None:
    config = PRESETS["smoke"].config("nobn", "sgd", seed=1, lr=0.1)
    run = RunResult(config, [], {}, {}, Path("."))
    assert describe(run) == "cnn1d (no BN) sgd lr=0.1 init=default seed=1"
    run.config = dataclasses.replace(config, data_seed=1001)
    assert describe(run).endswith("seed=1 data_seed=1001")
