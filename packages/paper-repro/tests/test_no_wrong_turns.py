"""No Wrong Turns: the training loop's observer hook (bitwise neutral), shuffled labels, the cached
two-pass recording, the path summaries, the claims on synthetic numbers and a smoke run."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

import paper_repro.path_geometry as pg
import surface_probe as sp
from paper_repro.claims import NumbersError
from paper_repro.cli import main
from paper_repro.data import DataBundle, load_dataset
from paper_repro.experiments import CLAIMS, judge_claim, no_wrong_turns
from paper_repro.experiments.context import Context
from paper_repro.presets import PRESETS
from paper_repro.rules import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED
from paper_repro.train import RunResult, TrainConfig, train

R, NR, INC = REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE


def _data() -> DataBundle:
    g = torch.Generator().manual_seed(1)
    x, vx = torch.randn(64, 6, generator=g), torch.randn(16, 6, generator=g)
    w = torch.randn(6, 3, generator=g)
    return DataBundle("toy", x, (x @ w).argmax(1), vx, (vx @ w).argmax(1), 3, "classification")


DATA = _data()


def _config(schedule: str = "heun:1,adam:1", epochs: int = 2) -> TrainConfig:
    return TrainConfig(
        model="mlp",
        model_kwargs={"in_features": 6, "num_classes": 3, "hidden": [8], "batchnorm": True},
        dataset="toy",
        dataset_kwargs={},
        schedule=schedule,
        lr=0.05,
        epochs=epochs,
        batch_size=16,
        device="cpu",
    )


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_an_attached_recorder_leaves_training_bitwise_unchanged(tmp_path: Path) -> None:
    plain = train(_config(), tmp_path / "plain", data=DATA)
    seen: list[tuple[nn.Module, torch.optim.Optimizer]] = []

    def attach(model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        seen.append((model, optimizer))
        full = (DATA.train_x, DATA.train_y)
        sp.GeometryRecorder(
            model,
            optimizer,
            plain.final_state,
            tmp_path / f"rec{len(seen)}",
            chunk_size=2,
            full_data=full,
            full_every=2,
            bn="batch",
        )

    observed = train(_config(), tmp_path / "observed", data=DATA, attach=attach)
    assert [type(o).__name__ for _, o in seen] == ["Heun", "Adam"]  # once per phase
    assert _same(plain.final_state, observed.final_state)
    strip = [{k: v for k, v in h.items() if k != "seconds"} for h in plain.history]
    assert strip == [{k: v for k, v in h.items() if k != "seconds"} for h in observed.history]
    rows = sp.load_geometry(tmp_path / "rec1")
    assert len(rows["step"]) == 4
    assert np.isfinite(rows["full_gamma"][::2]).all()


def test_attach_needs_a_fresh_run(tmp_path: Path) -> None:
    train(_config(), tmp_path, data=DATA)
    with pytest.raises(ValueError, match="attach observes every step and needs a fresh run"):
        train(_config(), tmp_path, data=DATA, attach=lambda m, o: None)


def test_shuffled_labels_permute_training_labels_only() -> None:
    plain = load_dataset("digits")
    mixed = load_dataset("digits", shuffle_labels=3)
    assert torch.equal(mixed.train_x, plain.train_x)
    assert torch.equal(mixed.test_y, plain.test_y)
    assert torch.equal(mixed.train_y.sort().values, plain.train_y.sort().values)
    assert (mixed.train_y != plain.train_y).float().mean() > 0.5
    assert torch.equal(mixed.train_y, sp.shuffled_labels(plain.train_y, 3))
    assert mixed.meta["shuffle_labels"] == 3
    with pytest.raises(ValueError, match="shuffle_labels needs a classification data set"):
        load_dataset("pydoc", shuffle_labels=0)


def _record(run: Any, directory: Path) -> dict[str, np.ndarray]:
    return pg.record(run, directory, DATA, full_every=3, full_examples=32)


def test_record_uses_the_cached_run_then_reloads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = train(_config("sgd:2"), tmp_path / "runs", data=DATA)
    trained: list[Any] = []

    def counting(*args: Any, **kwargs: Any) -> Any:
        trained.append(kwargs["attach"])
        return train(*args, **kwargs)

    monkeypatch.setattr(pg, "train", counting)
    stale = tmp_path / "rec" / f"{run.config.key()}.partial" / "recording"
    stale.mkdir(parents=True)
    (stale / "chunk_000000.npz").write_bytes(b"left by a killed recording")
    rows = _record(run, tmp_path / "rec")
    assert len(trained) == 1
    assert trained[0] is not None
    assert len(rows["step"]) == 8
    assert list(rows["step"]) == list(range(8))
    # SGD's last step points exactly at w* = w_T: γ = 1 up to rounding
    assert rows["grad_gamma"][-1] == pytest.approx(1.0, abs=1e-5)
    assert np.isfinite(rows["full_gamma"][::3]).all()
    assert np.isnan(rows["full_gamma"][1::3]).all()
    assert [p.name for p in (tmp_path / "rec").iterdir()] == [run.config.key()]

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a finished recording must be loaded, not retrained")

    monkeypatch.setattr(pg, "train", refuse)
    again = _record(run, tmp_path / "rec")
    assert all(np.array_equal(again[k], rows[k], equal_nan=True) for k in rows)


def test_record_retrains_both_passes_when_the_cached_end_point_differs(tmp_path: Path) -> None:
    run = train(_config("sgd:2"), tmp_path / "runs", data=DATA)
    truth = _record(run, tmp_path / "truth")
    foreign = {k: v + 1.0 if v.is_floating_point() else v for k, v in run.final_state.items()}
    rows = _record(dataclasses.replace(run, final_state=foreign), tmp_path / "rec")
    assert all(np.array_equal(truth[k], rows[k], equal_nan=True) for k in rows)
    assert not list((tmp_path / "rec").glob("*.partial"))


def test_window_means_variation_and_positive_share_known_answers() -> None:
    values = np.arange(20, dtype=float)
    assert pg.window_means(values, 0.0, 1.0, 4).tolist() == [2.0, 7.0, 12.0, 17.0]
    assert pg.window_means(values, 0.5, 1.0, 2).tolist() == [12.0, 17.0]
    with_nan = np.array([np.nan, 1.0, np.nan, np.nan])
    assert np.isnan(pg.window_means(with_nan, 0.0, 1.0, 2)[1])
    assert pg.variation(np.array([2.0, 2.0, 2.0])) == 0.0
    assert pg.variation(np.array([1.0, 3.0])) == pytest.approx(0.5)
    assert pg.variation(np.array([-1.0, 1.0])) == float("inf")
    assert pg.positive_share(np.array([1.0, -1.0, np.nan, 2.0])) == pytest.approx(2 / 3)


def _rows(gamma: np.ndarray, distance: np.ndarray, seed: int = 0) -> dict[str, np.ndarray]:
    """A synthetic recording with the given minibatch γ and distance, unit ‖g‖."""
    rng = np.random.default_rng(seed)
    n = len(gamma)
    full = np.full(n, np.nan)
    full[::4] = gamma[::4]
    return {
        "step": np.arange(n, dtype=float),
        "distance": distance,
        "grad_gamma": gamma,
        "grad_rsi": gamma / distance,
        "grad_eb": 1.0 / distance,
        "full_gamma": full,
        "random_gamma": rng.normal(0.0, 0.01, n),
    }


def test_summarise_known_answers() -> None:
    n = 400
    flat = _rows(np.full(n, 0.3), np.full(n, 2.0))
    s = pg.summarise(flat)
    assert s["steps"] == n
    assert s["positive_share"] == 1.0
    assert s["full_positive_share"] == 1.0
    assert 0.4 < s["random_positive_share"] < 0.6
    assert s["regime_cv"] == pytest.approx({"gamma": 0.0, "rsi": 0.0, "eb": 0.0, "distance": 0.0})
    assert s["regime_gamma"] == pytest.approx(0.3)
    assert len(s["curve"]["gamma"]) == pg.CURVE_POINTS
    shrinking = pg.summarise(_rows(np.full(n, 0.3), np.linspace(4.0, 0.01, n)))
    assert shrinking["regime_cv"]["gamma"] == pytest.approx(0.0)
    assert shrinking["regime_cv"]["distance"] > 0.4
    assert shrinking["regime_cv"]["eb"] > 0.4  # EB = ‖g‖/‖w − w*‖ grows as the distance shrinks


def _run(opt: str, seed: int, gamma: float = 0.3, **over: Any) -> dict[str, Any]:
    n = 200
    rng = np.random.default_rng(seed)
    g = gamma + rng.normal(0.0, 0.02, n)
    entry = {
        "run": f"{opt} s{seed}",
        "optimizer": opt,
        "seed": seed,
        **pg.summarise(_rows(g, 1.0 + 0.5 * np.cos(np.linspace(0, 3, n)) ** 2, seed)),
    }
    entry["regime_cv"]["distance"] = over.pop("distance_cv", 0.5)
    return {**entry, **over}


def numbers(*runs: dict[str, Any], shuffled: tuple[dict[str, Any], ...] = ()) -> dict[str, Any]:
    return {
        "optimizers": [],
        "seeds": 2,
        "failed": [],
        "runs": list(runs),
        "shuffled": list(shuffled),
    }


GOOD = [_run(o, s) for o in ("sgd", "adam", "heun") for s in (0, 1)]
KNOWN = {
    "NWT-positive": (
        lambda: numbers(*GOOD, shuffled=(_run("sgd", 0, positive_share=0.6),)),
        lambda: numbers(*[_run(o, s, positive_share=0.7) for o in ("sgd", "adam") for s in (0, 1)]),
        lambda: numbers(*GOOD[:-1], _run("heun", 1, random_positive_share=0.97)),  # control
    ),
    "NWT-stable": (
        lambda: numbers(*GOOD),
        lambda: numbers(
            *[
                _run(o, s, regime_cv={"gamma": 0.6, "rsi": 0.1, "eb": 0.1, "distance": 0.5})
                for o in ("sgd", "adam")
                for s in (0, 1)
            ]
        ),
        lambda: numbers(*[_run(o, s, distance_cv=0.1) for o in ("sgd", "adam") for s in (0, 1)]),
    ),
    "NWT-consistent": (
        lambda: numbers(*GOOD),
        lambda: numbers(
            *[_run(o, s, gamma=0.1 + 0.4 * s) for o in ("sgd", "adam") for s in (0, 1)]
        ),
        lambda: numbers(*GOOD[:-1]),  # heun has one seed: the control fails
    ),
}


def test_every_no_wrong_turns_claim_has_known_answers() -> None:
    assert set(KNOWN) == {c.id for c in no_wrong_turns.CLAIMS}
    assert {c.id for c in no_wrong_turns.CLAIMS} <= {c.id for c in CLAIMS}


@pytest.mark.parametrize("claim_id", list(KNOWN))
@pytest.mark.parametrize("expected", [R, NR, INC])
def test_no_wrong_turns_known_answer(claim_id: str, expected: str) -> None:
    claim = next(c for c in no_wrong_turns.CLAIMS if c.id == claim_id)
    assert judge_claim(claim, KNOWN[claim_id][(R, NR, INC).index(expected)]()).verdict == expected


def test_malformed_numbers_raise_naming_the_key() -> None:
    broken = copy.deepcopy(numbers(*GOOD))
    del broken["runs"][0]["regime_cv"]["gamma"]
    with pytest.raises(NumbersError, match="claim NWT-stable: the numbers lack key 'gamma'"):
        judge_claim(no_wrong_turns.CLAIMS[1], broken)


def test_rules_print_their_thresholds() -> None:
    texts = [c.rule_text for c in no_wrong_turns.CLAIMS]
    assert "≥ 95% of the steps" in texts[0]
    assert "random-direction" in texts[0]
    assert "≤ 0.25" in texts[1]
    assert "25%–90%" in texts[1]
    assert "≤ 25%" in texts[2]
    assert "≥ 2 kept seeds" in texts[2]


def test_preset_fields_are_checked() -> None:
    with pytest.raises(ValueError, match="no_wrong_turns seeds and full_every must be >= 1"):
        dataclasses.replace(PRESETS["smoke"], no_wrong_turns_full_every=0)
    with pytest.raises(ValueError, match="unknown optimizers"):
        dataclasses.replace(PRESETS["smoke"], no_wrong_turns_shuffled=("nope",))


def test_a_diverged_shuffled_label_run_is_left_out_and_listed(tmp_path: Path) -> None:
    ctx = Context(PRESETS["smoke"], tmp_path)
    config = no_wrong_turns.shuffled_config(_config("sgd:1", epochs=1))
    history = [{"train_loss": 2.3, "test_loss": 2.3}, {"train_loss": 9.0, "test_loss": 9.0}]
    kept = RunResult(config, history, {}, {}, tmp_path)
    gone = RunResult(
        config, [*history, {"train_loss": float("nan"), "test_loss": 1.0}], {}, {}, tmp_path
    )
    assert not no_wrong_turns._diverged(ctx, kept)
    assert no_wrong_turns._diverged(ctx, gone)
    assert ctx.excluded == [
        {
            "run": "mlp (BN) sgd:1 lr=0.05 init=default seed=0 on shuffled labels",
            "reason": "diverged: non-finite loss",
        }
    ]


def test_smoke_run(tmp_path: Path) -> None:
    out = tmp_path / "smoke"
    assert main(["run", "no_wrong_turns", "--preset", "smoke", "--out", str(out)]) == 0
    record = json.loads((out / "no_wrong_turns" / "result.json").read_text())
    n = record["numbers"]
    smoke = PRESETS["smoke"]
    assert len(n["runs"]) + len(n["failed"]) == len(smoke.optimizers) * smoke.no_wrong_turns_seeds
    assert [r["run"].endswith("on shuffled labels") for r in n["shuffled"]] == [True]
    for r in n["runs"]:
        assert r["steps"] == 10
        assert 0.0 <= r["positive_share"] <= 1.0
    assert [Path(f).stem for f in record["figures"]] == ["paths", "curves"]
    for figure in record["figures"]:
        assert (out / figure).with_suffix(".pdf").stat().st_size > 1000
