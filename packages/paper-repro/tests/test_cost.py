"""Cost estimate: FLOP counts against a hand count, the run formula, and the printed estimate."""

from __future__ import annotations

import math

import pytest

from paper_repro import cost
from paper_repro.train import TrainConfig


def _mlp(schedule: str, epochs: int) -> TrainConfig:
    return TrainConfig(
        model="mlp",
        model_kwargs={"in_features": 64, "num_classes": 10, "hidden": [8]},
        dataset="digits",
        dataset_kwargs={},
        schedule=schedule,
        lr=None,
        epochs=epochs,
        batch_size=256,
        device="cpu",
    )


def test_flops_match_a_hand_count_and_the_run_formula() -> None:
    config = _mlp("sgd:1,heun:2", 3)
    # Linear 64→8, ReLU, Linear 8→10: 2·(64·8 + 8·10) forward; backward: dW of both layers and
    # dX of the second (the input needs no gradient)
    forward = 2 * (64 * 8 + 8 * 10)
    backward = 2 * (64 * 8) + 2 * 2 * (8 * 10)
    assert cost.flops_per_example(config) == (forward + backward, forward)
    train_epoch, eval_epoch = cost.epoch_flops(config)
    n_train, n_test = 1797 - round(1797 * 0.2), round(1797 * 0.2)
    assert train_epoch == math.ceil(n_train / 256) * 256 * (forward + backward)
    assert eval_epoch == (n_train + n_test) * forward
    # SGD: 1 evaluation per step for 1 epoch, Heun: 2 per step for 2 epochs
    assert cost.run_flops(config) == (1 + 2 * 2) * train_epoch + 3 * eval_epoch


def test_estimate_is_labelled_and_counts_every_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cost, "measured_cpu_flops", lambda config: 1e9)
    text = cost.estimate("smoke", "smoke", gpu_tflops=10.0)
    assert text.startswith("ESTIMATE for preset 'smoke'")
    assert "assumed sustained GPU rate: 10 TFLOP/s" in text
    assert "measured CPU rate, smoke tier 'bn' model at batch 64: 1.00 GFLOP/s" in text


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--gpu-tflops", "0"], "--gpu-tflops"),
        (["--gpu-tflops", "-1"], "--gpu-tflops"),
        (["--gpu-tflops", "nan"], "--gpu-tflops"),
        (["--preset", "nope"], "--preset"),
        (["--cpu-preset", "nope"], "--cpu-preset"),
    ],
)
def test_bad_arguments_are_one_line_usage_errors(
    argv: list[str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cost.main(argv)
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert "error:" in error
    assert named in error
