"""Yu & Morozov (SGD vs full-batch quasi-Newton): the full-batch training it relies on, its
numbers on a tiny run, and every claim on synthetic numbers whose verdict is known."""

from __future__ import annotations

import copy
import json
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from paper_repro.claims import NumbersError
from paper_repro.data import DataBundle
from paper_repro.experiments import EXPERIMENTS, Context, judge_claim, run_experiment, yu_morozov
from paper_repro.experiments.runsets import restart_plan
from paper_repro.optimizers import TRAINING_LINE_SEARCH_EVALS
from paper_repro.preset import YuMorozov
from paper_repro.presets import PRESETS
from paper_repro.rules import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED
from paper_repro.train import TrainConfig, train
from paper_repro.train.loop import build_initial_model

R, NR, INC = REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE
LOW, HIGH = [1.0, 1.1, 0.9], [3.0, 3.1, 2.9]


def _blobs() -> DataBundle:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 8, generator=g)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).long()
    return DataBundle("blobs", x, y, x[:32], y[:32], 2, "classification")


def _full_batch(schedule: str, epochs: int = 3) -> TrainConfig:
    return TrainConfig(
        model="mlp",
        model_kwargs={"in_features": 8, "num_classes": 2, "hidden": [8], "batchnorm": True},
        dataset="blobs",
        dataset_kwargs={},
        schedule=schedule,
        lr=None,
        epochs=epochs,
        batch_size=64,  # the whole training set: one step per epoch
        device="cpu",
    )


def _batch_statistics(model: nn.Module, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """BatchNorm running statistics set to the statistics of ``x`` at the model's weights."""
    probe = copy.deepcopy(model).train()
    for m in probe.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
            m.momentum = None
    with torch.no_grad():
        probe(x)
    return {k: v for k, v in probe.state_dict().items() if "running" in k}


def test_full_batch_training_leaves_the_batch_statistics_of_the_final_weights(
    tmp_path: Path,
) -> None:
    """One full-batch step per epoch: the BatchNorm running statistics of every saved state are
    those of the whole training set at that state's weights (not an average over the last few
    iterates, which a few large quasi-Newton steps leave far from the final weights)."""
    data = _blobs()
    run = train(_full_batch("lbfgs_golden"), tmp_path, data=data)
    model = build_initial_model(run.config)
    model.load_state_dict(run.final_state)
    expected = _batch_statistics(model, data.train_x)
    for key, value in expected.items():
        torch.testing.assert_close(run.final_state[key], value, rtol=1e-5, atol=1e-6)


def test_a_full_batch_quasi_newton_epoch_spends_a_bounded_number_of_passes(tmp_path: Path) -> None:
    run = train(_full_batch("lbfgs_golden", epochs=4), tmp_path, data=_blobs())
    per_epoch = [b["grad_evals"] - a["grad_evals"] for a, b in pairwise(run.history)]
    # the step's first evaluation, the search's calls, one more after a non-finite trial
    assert all(2 <= n <= TRAINING_LINE_SEARCH_EVALS + 2 for n in per_epoch), per_epoch


def test_plan_reuses_the_sgd_restarts_and_trains_quasi_newton_full_batch(tmp_path: Path) -> None:
    ctx = Context(PRESETS["cpu"], tmp_path)
    ctx._rates[("bn", "sgd")] = 0.1  # as if the pilots had chosen it
    planned = yu_morozov.plan(ctx)
    restarts = restart_plan(ctx, "bn", ["sgd"])["sgd"]
    assert [c.key() for c in planned["sgd"]] == [c.key() for c in restarts]
    n_train = ctx.data("bn").train_x.shape[0]
    for seed, config in enumerate(planned["lbfgs_golden"]):
        assert (config.batch_size, config.init_seed, config.data_seed) == (n_train, seed, seed)
        assert config.epochs == PRESETS["cpu"].yu_morozov.iterations
        assert config.model_kwargs == restarts[0].model_kwargs


def _solution(name: str, method: str, train_loss: float, train_acc: float, test_acc: float,
              isolation: float) -> dict[str, Any]:  # fmt: skip
    seed = int(name[-1])
    return {
        "name": name,
        "method": method,
        "seed": seed,
        "train_loss": train_loss,
        "train_acc": train_acc,
        "test_acc": test_acc,
        "isolation": isolation,
    }


def ym(
    *,
    sgd_h: list[float] = LOW,
    qn_h: list[float] = HIGH,
    line_rise: float = 0.2,
    loss: tuple[list[float], list[float]] = (HIGH, [0.01, 0.02, 0.015]),
    isolation: tuple[list[float], list[float]] = (LOW, HIGH),
    spread: tuple[float, float] = (1.0, 2.0),
    train_acc: tuple[list[float], list[float]] = ([0.98] * 3, [1.0] * 3),
    test_acc: tuple[list[float], list[float]] = ([0.9, 0.91, 0.89], [0.8, 0.81, 0.79]),
) -> dict[str, Any]:
    """``yu_morozov.Numbers``: three solutions per method with these values, fitted heights of
    the within pairs (``sgd_h``, ``qn_h``) and straight lines ``line_rise`` above them."""
    solutions, pairs = [], []
    for k, method in enumerate(yu_morozov.METHODS):
        for s in range(3):
            name = f"{method} s{s}"
            values = (loss[k][s], train_acc[k][s], test_acc[k][s], isolation[k][s])
            solutions.append(_solution(name, method, *values))
    for method, heights in ((yu_morozov.SGD, sgd_h), (yu_morozov.QN, qn_h)):
        for (a, b), h in zip([(0, 1), (0, 2), (1, 2)], heights, strict=False):
            pairs.append(
                {
                    "a": f"{method} s{a}",
                    "b": f"{method} s{b}",
                    "group": method,
                    "height": h,
                    "line_height": h + line_rise,
                    "saddle": 0.1,
                    "endpoint_losses": [0.1, 0.1],
                }
            )
    return {
        "methods": list(yu_morozov.METHODS),
        "failed": [],
        "solutions": solutions,
        "pairs": pairs,
        "map_spread": dict(zip(yu_morozov.METHODS, spread, strict=True)),
        "weight_spread": dict(zip(yu_morozov.METHODS, spread, strict=True)),
        "fourier_modes": 2,
        "fit_steps": 30,
    }


KNOWN: dict[str, tuple[dict[str, Any], ...]] = {
    "YM-barriers": (
        ym(),
        ym(sgd_h=HIGH, qn_h=LOW),
        ym(line_rise=-0.5),  # the control: the fit raised every path above the straight line
    ),
    "YM-deep-isolated": (
        ym(),
        ym(loss=([0.01, 0.02, 0.015], HIGH)),  # quasi-Newton shallower
        ym(spread=(1.0, 1.1)),  # spread ratio between the limits
    ),
    "YM-generalise": (
        ym(),
        ym(test_acc=([0.8, 0.81, 0.79], [0.9, 0.91, 0.89])),
        ym(train_acc=([0.9] * 3, [0.7] * 3)),  # the control: quasi-Newton under-fits
    ),
}
MORE_INCONCLUSIVE = {
    "YM-barriers": ym(sgd_h=LOW[:2], qn_h=HIGH[:2]),  # too few pairs per method
    "YM-deep-isolated": ym(isolation=(LOW, [1.0, 3.0, 0.5])),  # noisy isolation
    "YM-generalise": ym(test_acc=([0.9, 0.91, 0.89], [0.95, 0.5, 0.9])),  # noisy accuracy
}


def test_generalisation_is_not_judged_when_sgd_under_fits() -> None:
    """SGD stopped far from fitting the training set: its lower test accuracy measures training
    progress, not generalisation (and so does a higher one)."""
    under = ([0.85] * 3, [1.0] * 3)
    for test_acc in (([0.8] * 3, [0.9] * 3), ([0.9] * 3, [0.8] * 3)):
        numbers = ym(train_acc=under, test_acc=test_acc)
        assert judge_claim(_claim("YM-generalise"), numbers).verdict == INC


def _claim(claim_id: str) -> Any:
    return next(c for c in yu_morozov.CLAIMS if c.id == claim_id)


def test_every_claim_has_known_answers() -> None:
    assert set(KNOWN) == set(MORE_INCONCLUSIVE) == {c.id for c in yu_morozov.CLAIMS}
    assert EXPERIMENTS["yu_morozov"].claims == yu_morozov.CLAIMS


@pytest.mark.parametrize("claim_id", list(KNOWN))
@pytest.mark.parametrize("expected", [R, NR, INC])
def test_claim_known_answer(claim_id: str, expected: str) -> None:
    numbers = KNOWN[claim_id][(R, NR, INC).index(expected)]
    assert judge_claim(_claim(claim_id), numbers).verdict == expected


@pytest.mark.parametrize("claim_id", list(KNOWN))
def test_claim_is_inconclusive_on_thin_or_noisy_evidence(claim_id: str) -> None:
    assert judge_claim(_claim(claim_id), MORE_INCONCLUSIVE[claim_id]).verdict == INC


@pytest.mark.parametrize("claim_id", list(KNOWN))
def test_a_missing_number_raises_naming_claim_and_key(claim_id: str) -> None:
    numbers = copy.deepcopy(KNOWN[claim_id][0])
    del numbers["solutions"][0]["train_acc"], numbers["pairs"][0]["height"]
    with pytest.raises(NumbersError, match=f"claim {claim_id}: the numbers lack key"):
        judge_claim(_claim(claim_id), numbers)
    with pytest.raises(NumbersError, match=f"claim {claim_id}: key 'map_spread' should be"):
        judge_claim(_claim(claim_id), {**KNOWN[claim_id][0], "map_spread": 1.0})


def test_rules_print_their_thresholds_and_controls() -> None:
    texts = {c.id: c.rule_text for c in yu_morozov.CLAIMS}
    assert "≥ 3 fitted paths within each method" in texts["YM-barriers"]
    assert "straight line (+2%) for ≥ 90% of pairs" in texts["YM-barriers"]
    assert "≥ 1.2 reproduced, < 1 not reproduced" in texts["YM-deep-isolated"]
    assert "mean train accuracies within 5 points" in texts["YM-generalise"]
    assert all(c.control in c.rule_text for c in yu_morozov.CLAIMS)


def test_smoke_run_numbers_hold_together(tmp_path: Path) -> None:
    """The experiment end to end on the smoke preset: every pair of solutions once, heights
    consistent with their endpoints, isolation = mean height, a judged result and a figure."""
    ctx = Context(PRESETS["smoke"], tmp_path, progress=False)
    result = run_experiment(ctx, "yu_morozov")
    assert result is not None
    n = result["numbers"]
    k = PRESETS["smoke"].yu_morozov.solutions
    assert len(n["solutions"]) == 2 * k - len(n["failed"])
    names = [s["name"] for s in n["solutions"]]
    assert sorted((p["a"], p["b"]) for p in n["pairs"]) == sorted(
        (a, b) for i, a in enumerate(names) for b in names[i + 1 :]
    )
    for p in n["pairs"]:
        same = p["a"].split()[0] == p["b"].split()[0]
        assert p["group"] == (p["a"].split()[0] if same else "across")
        assert p["height"] >= max(p["endpoint_losses"]) - 1e-9
        assert p["line_height"] >= max(p["endpoint_losses"]) - 1e-9
        assert p["saddle"] == pytest.approx(p["height"] - max(p["endpoint_losses"]))
    for s in n["solutions"]:
        heights = [p["height"] for p in n["pairs"] if s["name"] in (p["a"], p["b"])]
        assert s["isolation"] == pytest.approx(sum(heights) / len(heights))
    assert set(n["map_spread"]) == set(n["methods"])
    for claim in yu_morozov.CLAIMS:
        assert judge_claim(claim, n).verdict in (R, NR, INC)
    assert (tmp_path / result["figures"][0]).stat().st_size > 1000
    assert (tmp_path / result["figures"][0]).with_suffix(".pdf").stat().st_size > 1000
    saved = json.loads((tmp_path / "yu_morozov" / "result.json").read_text())
    assert saved["numbers"]["pairs"] == n["pairs"]


@pytest.mark.parametrize(
    ("field", "value"), [("solutions", 0), ("iterations", 0), ("points", 1), ("probe", -1)]
)
def test_a_bad_size_is_refused_naming_it(field: str, value: int) -> None:
    with pytest.raises(ValueError, match=rf"yu_morozov\.{field} must be an integer >= "):
        YuMorozov(**{field: value})
