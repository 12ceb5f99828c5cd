"""Benchmark surface_probe.paths against in-run anchors; prints a markdown table.

    python packages/surface-probe/benchmarks/bench_paths.py [--json PATH] [--repeats R]

One run, interleaved repetitions, minimum over repetitions, one torch thread:

- ``fit_path`` step: a small conv net (2 conv + linear, 1×28×28 inputs, batch 128), Adam; the anchor
  is a plain training step of the same model on the same batch (zero_grad, forward, cross-entropy,
  backward, Adam step).  ``fit_path`` is timed as a whole (set-up included) for Bezier (1 bend) and
  Fourier (N = 10) paths with the "expected" objective, divided by its number of steps.
- ``path_profile``: the same net at 21 points of a Fourier path over 1024 images (8 batches); the
  anchor is the bare loop: for each point, build θ(t), copy it into the module's parameters and
  forward over the batches under inference_mode, cross-entropy.  The values must agree.

Targets: fit step ≤ 1.3× a training step; profile ≤ 1.1× the bare loop.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

import surface_probe as sp
from surface_probe.paths.families import as_ts


def conv_net(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 10),
    )  # fmt: skip


def _timed(fn: Callable[[], Any], store: list[float]) -> None:
    start = time.perf_counter()
    fn()
    store.append(time.perf_counter() - start)


def train_steps(model: nn.Module, x: Tensor, y: Tensor, steps: int) -> None:
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        torch.autograd.backward(F.cross_entropy(model(x), y))
        opt.step()


def bare_profile(
    model: nn.Module, p: sp.Path, ts: Tensor, batches: list[tuple[Tensor, Tensor]]
) -> np.ndarray:
    params = list(model.parameters())
    out = []
    with torch.inference_mode():
        for t in ts:
            theta = p.points(t.reshape(1))[0]
            torch.nn.utils.vector_to_parameters(theta, params)
            total = sum(F.cross_entropy(model(xb), yb, reduction="sum") for xb, yb in batches)
            out.append(float(total) / sum(len(yb) for _, yb in batches))
    return np.asarray(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(1024, 1, 28, 28, generator=g), torch.randint(0, 10, (1024,), generator=g)
    a, b = conv_net(1), conv_net(2)
    batch = (x[:128], y[:128])
    bezier = sp.path(a, a, b, kind="bezier", bends=1)
    fourier = sp.path(a, a, b, kind="fourier", bends=10)
    fourier = fourier.with_free(torch.randn(fourier.free.shape, generator=g) * 0.01)
    batches = list(zip(x.split(128), y.split(128), strict=True))
    ts = as_ts(np.linspace(0, 1, 21))
    times: dict[str, list[float]] = {
        k: [] for k in ("train", "bezier", "fourier", "bare", "profile")
    }
    steps = args.steps
    check: dict[str, np.ndarray] = {}
    for _ in range(args.repeats):
        _timed(lambda: train_steps(conv_net(3), *batch, steps), times["train"])
        _timed(lambda: sp.fit_path(a, bezier, batch, steps=steps), times["bezier"])
        _timed(lambda: sp.fit_path(a, fourier, batch, steps=steps), times["fourier"])
        _timed(
            lambda: check.update(bare=bare_profile(conv_net(3), fourier, ts, batches)),
            times["bare"],
        )
        _timed(
            lambda: check.update(sp=sp.path_profile(a, fourier, batches, ts=ts).loss),
            times["profile"],
        )
    if not np.allclose(check["bare"], check["sp"], rtol=1e-4):
        raise SystemExit(f"profile values disagree: {check['bare']} vs {check['sp']}")
    best = {k: min(v) for k, v in times.items()}
    rows = [
        ("plain training step (Adam, batch 128)", best["train"] / steps, 1.0, "anchor"),
        (
            "fit_path step, Bezier 1 bend",
            best["bezier"] / steps,
            best["bezier"] / best["train"],
            "≤ 1.3×",
        ),
        (
            "fit_path step, Fourier N = 10",
            best["fourier"] / steps,
            best["fourier"] / best["train"],
            "≤ 1.3×",
        ),
        ("bare forward loop, 21 points × 1024 images", best["bare"], 1.0, "anchor"),
        ("path_profile, Fourier N = 10", best["profile"], best["profile"] / best["bare"], "≤ 1.1×"),
    ]
    print("| case | seconds | × anchor | target |\n|---|---:|---:|---|")
    for name, sec, ratio, target in rows:
        print(f"| {name} | {sec:.4f} | {ratio:.2f} | {target} |")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"times": times, "steps": steps}, fh, indent=1)


if __name__ == "__main__":
    main()
