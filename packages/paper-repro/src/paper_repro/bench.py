"""Training throughput of :func:`paper_repro.train.train` against a bare PyTorch loop.

``python -m paper_repro.bench [--quick]`` trains the MNIST-1D CNN (``cnn1d``, BatchNorm) with SGD
momentum 0.9 on the CPU, in both loops, with the same initial weights, data, batch size and number
of epochs; repetitions alternate between the two loops (which one goes first alternates too) and
the table reports medians. Both loops evaluate the train and test sets in eval mode before
training and after every epoch, each epoch's evaluation preceded by re-estimating the BatchNorm
statistics on the first ``BN_REFRESH_EXAMPLES`` training examples (the bare loop with torch's
``swa_utils.update_bn``), so the "full run" row compares equal work: what remains is our loop's
overhead (closures, per-epoch reseeding, history, atomic checkpoints). The "training
steps" row compares only the time spent in the optimisation steps (our ``history[*]["seconds"]``
against the bare loop's step time).

A second table times the image layout ``data.load_dataset`` hands out: the paper's VGG at width
1/8 (the Fashion-MNIST tier's network) on 3×32×32 inputs, a training step of batch 128 and an
eval-mode forward pass over 1,000 images, with the inputs contiguous (NCHW) and channels-last.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.swa_utils import update_bn

from .data import DataBundle, load_dataset
from .seeding import cpu_generator
from .train import TrainConfig, build_initial_model, train
from .train.loop import BN_REFRESH_EXAMPLES


@torch.no_grad()
def _bare_eval(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int
) -> tuple[float, float]:
    """Mean loss and accuracy in eval mode (the textbook version of ``train.evaluate``)."""
    model.eval()
    loss, correct = 0.0, 0
    for start in range(0, x.shape[0], batch_size):
        xb, yb = x[start : start + batch_size], y[start : start + batch_size]
        out = model(xb)
        loss += F.cross_entropy(out, yb, reduction="sum").item()
        correct += int((out.argmax(1) == yb).sum())
    model.train()
    return loss / x.shape[0], correct / x.shape[0]


def bare_loop(config: TrainConfig, data: DataBundle, lr: float) -> tuple[float, float]:
    """The textbook loop; returns (total seconds, seconds spent in training steps)."""
    tic = time.perf_counter()
    model = build_initial_model(config)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=config.momentum)
    gen = cpu_generator(config.data_seed)
    n = data.train_x.shape[0]
    eval_bs = max(config.batch_size, 256)
    step_seconds = 0.0
    for epoch in range(config.epochs + 1):  # epoch 0: evaluation of the initial weights only
        if epoch > 0:
            t0 = time.perf_counter()
            for idx in torch.split(torch.randperm(n, generator=gen), config.batch_size):
                opt.zero_grad()
                loss = F.cross_entropy(model(data.train_x[idx]), data.train_y[idx])
                loss.backward()  # type: ignore[no-untyped-call]
                opt.step()
            step_seconds += time.perf_counter() - t0
            update_bn(torch.split(data.train_x[:BN_REFRESH_EXAMPLES], eval_bs), model)
        _bare_eval(model, data.train_x, data.train_y, eval_bs)
        _bare_eval(model, data.test_x, data.test_y, eval_bs)
    return time.perf_counter() - tic, step_seconds


def our_loop(config: TrainConfig, data: DataBundle) -> tuple[float, float]:
    """:func:`train` in a fresh directory; returns (total seconds, seconds in training steps)."""
    with tempfile.TemporaryDirectory() as tmp:
        tic = time.perf_counter()
        result = train(config, Path(tmp), data=data, progress=False)
        total = time.perf_counter() - tic
    return total, sum(h["seconds"] for h in result.history)


def run(epochs: int, repeats: int) -> str:
    """Benchmark and return the markdown table."""
    data = load_dataset("mnist1d")
    lr = 0.05
    config = TrainConfig(
        model="cnn1d",
        model_kwargs={},
        dataset="mnist1d",
        dataset_kwargs={},
        schedule=f"sgdm:{epochs}",
        lr=lr,
        epochs=epochs,
        batch_size=128,
        device="cpu",
    )
    ours: list[tuple[float, float]] = []
    bare: list[tuple[float, float]] = []
    for r in range(repeats):
        for which in ("bare", "ours") if r % 2 == 0 else ("ours", "bare"):
            if which == "bare":
                bare.append(bare_loop(config, data, lr))
            else:
                ours.append(our_loop(config, data))
    examples = epochs * data.train_x.shape[0]
    rows = [
        "| measure | bare PyTorch (ex/s) | paper_repro.train (ex/s) | time ratio ours/bare |",
        "|---|---:|---:|---:|",
    ]
    for label, i in (("full run (steps + eval + checkpoints)", 0), ("training steps only", 1)):
        b = statistics.median(t[i] for t in bare)
        o = statistics.median(t[i] for t in ours)
        rows.append(f"| {label} | {examples / b:,.0f} | {examples / o:,.0f} | {o / b:.3f}× |")
    header = (
        f"cnn1d (BN) on MNIST-1D, {data.train_x.shape[0]} train examples, batch 128, sgdm, "
        f"{epochs} epochs, CPU, {torch.get_num_threads()} thread(s), median of {repeats} "
        "interleaved repetitions"
    )
    return header + "\n\n" + "\n".join(rows)


def _seconds(work: Callable[[torch.Tensor], None], inputs: torch.Tensor, repeats: int) -> float:
    """Median seconds of ``work(inputs)`` over ``repeats`` calls, after one warm-up call."""
    work(inputs)
    times = []
    for _ in range(repeats):
        tic = time.perf_counter()
        work(inputs)
        times.append(time.perf_counter() - tic)
    return statistics.median(times)


def layout(repeats: int) -> str:
    """The VGG's training step and evaluation with contiguous and channels-last inputs."""
    from .presets import PRESETS

    config = PRESETS["fashion_demo"].config("bn", "sgd", seed=0, lr=0.01)
    model = build_initial_model(config)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    gen = cpu_generator(0)
    x, y = torch.randn(1000, 3, 32, 32, generator=gen), torch.randint(0, 10, (128,), generator=gen)

    def step(batch: torch.Tensor) -> None:
        model.train()
        opt.zero_grad()
        F.cross_entropy(model(batch), y).backward()  # type: ignore[no-untyped-call]
        opt.step()

    @torch.inference_mode()
    def evaluate(images: torch.Tensor) -> None:
        model.eval()
        for start in range(0, images.shape[0], 250):
            model(images[start : start + 250])

    rows = ["| measure | contiguous (s) | channels-last (s) | speed-up |", "|---|---:|---:|---:|"]
    cases = (("training step (batch 128)", step, x[:128]), ("eval forward, 1,000", evaluate, x))
    for label, work, inputs in cases:
        plain = _seconds(work, inputs.contiguous(), repeats)
        last = _seconds(work, inputs.contiguous(memory_format=torch.channels_last), repeats)
        rows.append(f"| {label} | {plain:.4f} | {last:.4f} | {plain / last:.2f}× |")
    header = (
        f"VGG width 1/8 (BN) on 3×32×32, CPU, {torch.get_num_threads()} thread(s), median of "
        f"{repeats}: the input layout of data.load_dataset"
    )
    return header + "\n\n" + "\n".join(rows)


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m paper_repro.bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="2 epochs × 3 repetitions")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    epochs, repeats = (2, 3) if args.quick else (5, 7)
    print(run(epochs, repeats))
    print()
    print(layout(repeats))


if __name__ == "__main__":
    main()
