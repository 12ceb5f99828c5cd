"""Table 1 for the LSTM: which presets run it, the language-model failure screen, known answers
for its claims, and a smoke run on a tiny corpus the LSTM learns in seconds."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import pytest

from paper_repro.cli import main
from paper_repro.data.text import language_model_bundle
from paper_repro.experiments import EXPERIMENTS, Context, applicable, judge_claim, run_experiment
from paper_repro.experiments import context as context_module
from paper_repro.experiments.table1_lstm import CLAIMS
from paper_repro.optimizers import PAPER_LR_GRID
from paper_repro.presets import PRESETS, ROLES, Setup, get_preset, lstm_tier
from paper_repro.rules import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED
from paper_repro.screening import LM_FAILURE_RATIO, failure

IMAGE_EXPERIMENTS = ["table1", "fig2_3", "fig4", "fig5_6", "fig7", "table2_fig8", "fig9", "fig10"]


def test_experiments_declare_their_task() -> None:
    assert applicable("image") == [
        *IMAGE_EXPERIMENTS,
        "fig11",
        "freeman_bruna",
        "table1_paths",
        "no_wrong_turns",
        "yu_morozov",
    ]  # what `run all` runs
    assert applicable("language") == ["table1_lstm"]
    assert {n: p.task for n, p in PRESETS.items()} == {
        "smoke": "image",
        "cpu": "image",
        "paper": "image",
        "fashion": "image",
        "fashion_demo": "image",
        "lstm": "language",
    }


@pytest.mark.parametrize(
    ("experiment", "preset", "message"),
    [
        ("table1_lstm", "cpu", "'table1_lstm' applies to language presets (lstm)"),
        ("table1", "lstm", "'table1' applies to image presets (smoke, cpu, paper, fashion"),
    ],
)
def test_an_experiment_of_another_task_is_refused(
    experiment: str, preset: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert main(["run", experiment, "--preset", preset, "--out", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not (out / "preset.json").exists()


def test_lstm_preset_follows_the_data_root(tmp_path: Path) -> None:
    assert get_preset("lstm") == PRESETS["lstm"] == lstm_tier(None)
    for split in ("train", "valid", "test"):
        (tmp_path / f"ptb.{split}.txt").write_text("a b c\n")
    assert get_preset("lstm", data_root=tmp_path).setups["bn"].dataset == "ptb"


def history(test_loss: float) -> list[dict[str, float]]:
    return [
        {"epoch": 0, "train_loss": 8.0, "test_loss": 8.0, "train_acc": 0.0},
        {"epoch": 1, "train_loss": test_loss, "test_loss": test_loss, "train_acc": 0.3},
    ]


def test_a_language_model_near_the_unigram_model_has_failed() -> None:
    unigram = 100.0
    near = failure(history(math.log(0.95 * unigram)), 1 / 3000, unigram)
    assert near is not None
    assert "above 0.9× the unigram perplexity 100.0" in near
    assert failure(history(math.log(0.5 * unigram)), 1 / 3000, unigram) is None
    assert failure(history(math.log(0.95 * unigram)), 1 / 3000) is None  # image rule only
    assert failure(history(5000.0), 1 / 3000, unigram) is not None  # no overflow
    assert LM_FAILURE_RATIO == 0.9


@pytest.mark.parametrize(
    ("ratios", "disagreement_ratio", "verdicts"),
    [
        ([0.2, 0.3, 0.1], 0.5, (REPRODUCED, REPRODUCED)),
        ([0.0, 0.01, 0.0], 0.1, (NOT_REPRODUCED, NOT_REPRODUCED)),
        ([0.2, 0.3, 0.0], 0.25, (INCONCLUSIVE, INCONCLUSIVE)),  # 2/3 of pairs; 1/6 < 0.25 < 1/3
        ([], float("nan"), (INCONCLUSIVE, INCONCLUSIVE)),  # every run failed: no pair
    ],
)
def test_claims_known_answers(
    ratios: list[float],
    disagreement_ratio: float,
    verdicts: tuple[str, str],
    table1_numbers: Any,
) -> None:
    assert [c.id for c in CLAIMS] == ["T1-barrier", "T1-different"]
    assert all("0.9× the unigram perplexity" in c.rule_text for c in CLAIMS)
    judged = [judge_claim(c, table1_numbers(ratios, disagreement_ratio)) for c in CLAIMS]
    assert tuple(j.verdict for j in judged) == verdicts


PATTERN = ["the", "cat", "sat", "on", "a", "mat", "."]


def tiny_preset() -> Any:
    bundle = language_model_bundle(
        "tiny_text",
        [PATTERN] * 60,
        [PATTERN] * 12,
        bptt=7,
        vocab_size=None,
        meta={"source": "test"},
    )
    kw = {"vocab_size": bundle.num_classes, "emb": 16, "hidden": 16, "layers": 1}
    setup = Setup("lstm_lm", kw, "tiny_text", {}, "tiny LSTM on a repeated sentence")
    rates = {"sgd": (1e-4,), "adam": (0.03,), "adam_rk2": (0.06,), "heun": (1e-4,)}
    preset = dataclasses.replace(
        lstm_tier(),
        name="lstm_smoke",
        setups=dict.fromkeys(ROLES, setup),
        epochs=4,
        batch_size=8,
        optimizers=("sgd", "adam", "adam_rk2"),
        lr_grid={**PAPER_LR_GRID, **rates},
        resolution=3,
        line_steps=3,
        probe_examples=16,
        device="cpu",
    )
    return preset, bundle


def test_table1_lstm_smoke(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    preset, bundle = tiny_preset()
    monkeypatch.setattr(context_module, "load_dataset", lambda name, **kw: bundle)
    ctx = Context(preset=preset, out_dir=tmp_path, progress=False)
    result = run_experiment(ctx, "table1_lstm")
    assert result is not None
    saved = json.loads((tmp_path / "table1_lstm" / "result.json").read_text())
    assert saved["numbers"]["failed"] == ["sgd"]  # stays near the unigram model at 1e-4
    assert "unigram perplexity" in saved["excluded"][0]["reason"]
    (pair,) = saved["numbers"]["pairs"]
    assert (pair["a"], pair["b"]) == ("adam", "adam_rk2")
    assert all(math.isfinite(pair[k]) for k in ("barrier_ratio", "rms", "disagreement"))
    assert 0.0 <= pair["disagreement"] <= 1.0
    assert (tmp_path / saved["figures"][0]).stat().st_size > 1000
    assert EXPERIMENTS["table1_lstm"].task == preset.task == "language"
