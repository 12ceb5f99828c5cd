"""An ESTIMATE of a preset's training cost, from FLOP counts and one measured CPU step time.

    python -m paper_repro.cost [--preset paper] [--gpu-tflops 15] [--cpu-preset cpu]

FLOPs per run (``torch.utils.flop_counter`` on the model itself, per example):

    F_run = Σ_phases epochs · ⌈N_train/B⌉ · B · e · F_train + epochs · (N_train + N_test) · F_eval

with F_train the forward + backward FLOPs of one example, F_eval its forward FLOPs, B the batch
size and e the gradient evaluations per step (2 for the Runge–Kutta optimizers). GPU-hours =
F_run / (``gpu_tflops`` · 10¹² · 3600), where ``gpu_tflops`` is an ASSUMED sustained rate (not
measured here: no GPU). The CPU side is measured: one training step of the CPU tier's model on
this machine gives its achieved FLOP/s, and the same rate gives the preset's CPU-hours. Probes
(surfaces, lines, basins) are not counted. Everything printed is an estimate, not a measurement
of the paper preset.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from .data import load_dataset
from .models import build_model
from .optimizers import RK_OPTIMIZERS
from .presets import PRESETS, get_preset
from .train import TrainConfig

DATASET_SHAPES: dict[str, tuple[tuple[int, ...], int, int]] = {
    "cifar10": ((3, 32, 32), 50_000, 10_000),
}
"""Example shape, training and test sizes of data sets not loaded for the estimate."""


def _shape_and_sizes(config: TrainConfig) -> tuple[tuple[int, ...], int, int]:
    if config.dataset in DATASET_SHAPES:
        return DATASET_SHAPES[config.dataset]
    data = load_dataset(config.dataset, **config.dataset_kwargs)
    return tuple(data.train_x.shape[1:]), data.train_x.shape[0], data.test_x.shape[0]


def flops_per_example(config: TrainConfig) -> tuple[float, float]:
    """(forward + backward, forward) FLOPs of one example of ``config``'s model (batch of 2)."""
    shape, _, _ = _shape_and_sizes(config)
    model = build_model(config.model, **config.model_kwargs)
    x = torch.randn(2, *shape)
    with FlopCounterMode(display=False) as forward:
        logits = model(x)
    loss = F.cross_entropy(logits, torch.zeros(2, dtype=torch.long))
    with FlopCounterMode(display=False) as backward:
        loss.backward()  # type: ignore[no-untyped-call]
    fwd = forward.get_total_flops() / 2
    return fwd + backward.get_total_flops() / 2, fwd


def epoch_flops(config: TrainConfig) -> tuple[float, float]:
    """FLOPs of one epoch of ``config``: (training at one gradient evaluation per step,
    evaluation of the training and test splits)."""
    train_flops, eval_flops = flops_per_example(config)
    _, n_train, n_test = _shape_and_sizes(config)
    steps = math.ceil(n_train / config.batch_size)
    return steps * config.batch_size * train_flops, (n_train + n_test) * eval_flops


def run_flops(config: TrainConfig, per_epoch: tuple[float, float] | None = None) -> float:
    """F_run of the module docstring (``per_epoch``: :func:`epoch_flops`, computed if None)."""
    train_epoch, eval_epoch = per_epoch or epoch_flops(config)
    evaluations = sum(p.epochs * (2 if p.optimizer in RK_OPTIMIZERS else 1) for p in config.phases)
    return evaluations * train_epoch + config.epochs * eval_epoch


def measured_cpu_flops(config: TrainConfig, steps: int = 3) -> float:
    """Achieved FLOP/s of SGD training steps of ``config``'s model on this machine's CPU."""
    shape, _, _ = _shape_and_sizes(config)
    model = build_model(config.model, **config.model_kwargs)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x = torch.randn(config.batch_size, *shape)
    y = torch.zeros(config.batch_size, dtype=torch.long)

    def step() -> None:
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()  # type: ignore[no-untyped-call]
        opt.step()

    step()  # warm-up
    tic = time.perf_counter()
    for _ in range(steps):
        step()
    seconds = (time.perf_counter() - tic) / steps
    return flops_per_example(config)[0] * config.batch_size / seconds


def estimate(preset_name: str, cpu_preset: str, gpu_tflops: float) -> str:
    """The estimate as text: runs, measured CPU rate, assumed GPU rate, FLOPs and hours."""
    from .experiments import applicable
    from .planning import planned_configs

    preset = get_preset(preset_name)
    planned = planned_configs(preset, Path("unused"), applicable(preset.task), assume_rates=True)
    configs = list({c.key(): c for c in planned}.values())
    cpu_config = get_preset(cpu_preset).config("bn", "sgd", seed=0)
    cpu_rate = measured_cpu_flops(cpu_config)
    per_epoch: dict[str, tuple[float, float]] = {}
    flops = []
    for c in configs:
        model = json.dumps([c.model, c.model_kwargs, c.dataset, c.batch_size], sort_keys=True)
        if model not in per_epoch:
            per_epoch[model] = epoch_flops(c)
        flops.append(run_flops(c, per_epoch[model]))
    total, gpu_hour = sum(flops), gpu_tflops * 1e12 * 3600
    return "\n".join(
        [
            f"ESTIMATE for preset {preset_name!r}: {len(configs)} training runs (probes excluded)",
            f"measured CPU rate, {cpu_preset} tier 'bn' model at batch {cpu_config.batch_size}: "
            f"{cpu_rate / 1e9:.2f} GFLOP/s",
            f"assumed sustained GPU rate: {gpu_tflops:g} TFLOP/s",
            f"FLOPs per run: min {min(flops):.3g}, mean {total / len(flops):.3g}, "
            f"max {max(flops):.3g}; all runs {total:.3g}",
            f"GPU-hours per run: min {min(flops) / gpu_hour:.2f}, "
            f"mean {total / len(flops) / gpu_hour:.2f}, max {max(flops) / gpu_hour:.2f}; "
            f"all runs {total / gpu_hour:.0f}",
            f"CPU-hours of all runs at the measured CPU rate: {total / cpu_rate / 3600:.0f}",
        ]
    )


def _positive_rate(text: str) -> float:
    """A finite GPU rate > 0 (argparse type: a bad value is a one-line usage error)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0.0 < value < math.inf:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m paper_repro.cost", description=__doc__)
    parser.add_argument("--preset", default="paper", choices=list(PRESETS))
    parser.add_argument("--cpu-preset", default="cpu", choices=list(PRESETS))
    parser.add_argument("--gpu-tflops", type=_positive_rate, default=15.0)
    args = parser.parse_args(argv)
    print(estimate(args.preset, args.cpu_preset, args.gpu_tflops))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
