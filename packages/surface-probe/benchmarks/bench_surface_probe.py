"""Benchmark surface_probe's plane evaluation against in-run anchors; prints a markdown table.

    python packages/surface-probe/benchmarks/bench_surface_probe.py [--quick] [--json PATH]
        [--threads N] [--repeats R] [--check]

Workloads (one run, same grid, same data, interleaved repetitions, minimum over repetitions):

- MLP 40-256-256-10 on 4000×40 inputs (briefly trained on teacher labels so the loss varies over
  the plane; centre loss ≈ 0.3), 21×21 random filter-normalized plane (span 1):
    * ``bare fp32 loop``: for each plane point, load the weights into the module, forward over the
      data under ``torch.inference_mode``, cross-entropy (``F.cross_entropy``) — the floor for
      exact evaluation;
    * ``loss-landscapes 3.0.6``: ``random_plane`` with a ``Loss`` metric on a deep copy (it mutates
      the model and draws its directions differently: only timed);
    * ``sp.plane fp32`` and ``sp.plane bf16`` (accuracy: max relative loss error vs fp32, on the
      trained MLP and, untimed, on the same MLP untrained).
- A small BatchNorm conv net on 512 images 3×16×16 in 4 batches: bare fp32 loop (eval mode, template
  statistics) vs ``sp.plane(bn="frozen")`` (the same computation) and ``bn="recompute"``
  (calibration pass + evaluation pass per point; for information).

Targets: fp32 ≤ 1.1× bare on the MLP and (bn="frozen") on the BN net; bf16 ≥ 3× faster than
loss-landscapes, with the max relative loss error reported.
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from loss_landscapes import random_plane
from loss_landscapes.metrics import Loss
from torch import Tensor, nn

import surface_probe as sp


def mlp_task(seed: int = 0, steps: int = 40) -> tuple[nn.Module, Tensor, Tensor]:
    """MLP 40-256-256-10 after ``steps`` full-batch Adam steps on labels of a linear teacher."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(4000, 40, generator=g)
    y = (x @ torch.randn(40, 10, generator=g)).argmax(dim=1)
    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Linear(40, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10)
    )
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(steps):
        opt.zero_grad()
        torch.autograd.backward(F.cross_entropy(model(x), y))
        opt.step()
    return model, x, y


def bn_task(seed: int = 0) -> tuple[nn.Module, list[tuple[Tensor, Tensor]]]:
    """Conv(3→16)-BN-ReLU-Conv(16→32, stride 2)-BN-ReLU-avgpool-Linear(32→10); 4 batches of 128."""
    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.Conv2d(16, 32, 3, stride=2, padding=1),
        nn.BatchNorm2d(32),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(32, 10),
    )
    g = torch.Generator().manual_seed(seed)
    batches = [
        (torch.randn(128, 3, 16, 16, generator=g), torch.randint(0, 10, (128,), generator=g))
        for _ in range(4)
    ]
    model.train()
    with torch.no_grad():  # realistic (non-default) running statistics
        for x, _ in batches:
            model(x)
    return model, batches


def plane_points(model: nn.Module, directions: tuple[Tensor, Tensor], n: int) -> Tensor:
    """θ_0 + x d_1 + y d_2 on the n×n grid over [-1, 1]² (the same points sp.plane evaluates)."""
    theta = torch.nn.utils.parameters_to_vector(model.parameters()).detach()
    axis = torch.linspace(-1.0, 1.0, n, dtype=theta.dtype)
    ys, xs = torch.meshgrid(axis, axis, indexing="ij")
    d1, d2 = directions
    return theta + xs.reshape(-1, 1) * d1 + ys.reshape(-1, 1) * d2


def bare_loop(model: nn.Module, points: Tensor, batches: list[tuple[Tensor, Tensor]]) -> float:
    """The floor: per point load θ into the module, forward over all data, cross-entropy."""
    m = copy.deepcopy(model).eval()
    params = list(m.parameters())
    n = sum(len(y) for _, y in batches)
    last = 0.0
    with torch.inference_mode():
        for p in points:
            torch.nn.utils.vector_to_parameters(p, params)
            last = sum(float(F.cross_entropy(m(x), y)) * len(y) for x, y in batches) / n
    return last


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def run_interleaved(
    cases: dict[str, Callable[[], Any]], repeats: int
) -> tuple[dict[str, list[float]], dict[str, Any]]:
    times: dict[str, list[float]] = {k: [] for k in cases}
    outputs: dict[str, Any] = {}
    for _ in range(repeats):
        for name, fn in cases.items():
            t, outputs[name] = timed(fn)
            times[name].append(t)
    return times, outputs


def plane_directions(model: nn.Module, seed: int) -> list[Tensor]:
    """Two filter-normalized Gaussian directions (sp.random_direction) as flat vectors."""
    space = sp.WeightSpace.of(model)
    gen = torch.Generator().manual_seed(seed)
    return [space.params_vector(sp.random_direction(model, generator=gen)) for _ in range(2)]


def summarise(times: dict[str, list[float]]) -> list[dict[str, Any]]:
    """Min/median per case and the ratio of minima to the first case (the bare loop)."""
    best = {k: min(v) for k, v in times.items()}
    anchor = next(iter(times))
    return [
        {
            "case": k,
            "min_s": best[k],
            "median_s": statistics.median(v),
            "ratio_to_bare": best[k] / best[anchor],
        }
        for k, v in times.items()
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="9×9 grid, 2 repetitions")
    ap.add_argument("--json", type=Path, help="also write the results as JSON")
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    ap.add_argument("--repeats", type=int, default=None, help="interleaved repetitions")
    ap.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    n = 9 if args.quick else 21
    repeats = args.repeats or (2 if args.quick else 3)

    model, x, y = mlp_task()
    dirs = plane_directions(model, seed=0)
    points = plane_points(model, (dirs[0], dirs[1]), n)

    def ours(precision: str) -> Callable[[], sp.SurfaceResult]:
        return lambda: sp.plane(
            model, model, (x, y), directions=dirs, resolution=n, precision=precision, progress=False
        )

    def loss_landscapes() -> Any:
        return random_plane(copy.deepcopy(model), Loss(F.cross_entropy, x, y), distance=1, steps=n)

    mlp_times, mlp_out = run_interleaved(
        {
            "bare fp32 loop": lambda: bare_loop(model, points, [(x, y)]),
            "loss-landscapes 3.0.6": loss_landscapes,
            "sp.plane fp32": ours("fp32"),
            "sp.plane bf16": ours("bf16"),
        },
        repeats,
    )
    fp32, bf16 = mlp_out["sp.plane fp32"].loss, mlp_out["sp.plane bf16"].loss
    bf16_err = float(np.max(np.abs(bf16 - fp32) / np.abs(fp32)))
    bf16_abs = float(np.max(np.abs(bf16 - fp32)))
    untrained, ux, uy = mlp_task(steps=0)
    u_dirs = plane_directions(untrained, seed=0)
    u32, u16 = (
        sp.plane(
            untrained,
            untrained,
            (ux, uy),
            directions=u_dirs,
            resolution=n,
            precision=p,
            progress=False,
        )
        for p in ("fp32", "bf16")
    )
    untrained_err = float(np.max(np.abs(u16.loss - u32.loss) / np.abs(u32.loss)))
    bare_last = mlp_out["bare fp32 loop"]
    if not np.isclose(fp32[-1, -1], bare_last, rtol=1e-4):
        raise RuntimeError(f"plane and bare loop disagree: {fp32[-1, -1]} vs {bare_last}")

    bn_model, batches = bn_task()
    bn_dirs = plane_directions(bn_model, seed=1)
    bn_points = plane_points(bn_model, (bn_dirs[0], bn_dirs[1]), n)

    def ours_bn(bn: str) -> Callable[[], sp.SurfaceResult]:
        return lambda: sp.plane(
            bn_model, bn_model, batches, directions=bn_dirs, resolution=n, bn=bn, progress=False
        )

    bn_times, _ = run_interleaved(
        {
            "bare fp32 loop (BN net, eval)": lambda: bare_loop(bn_model, bn_points, batches),
            "sp.plane bn=frozen": ours_bn("frozen"),
            "sp.plane bn=recompute": ours_bn("recompute"),
        },
        repeats,
    )

    mlp_rows = summarise(mlp_times)
    bn_rows = summarise(bn_times)
    best = {r["case"]: r["min_s"] for r in mlp_rows + bn_rows}
    bn_bare = best["bare fp32 loop (BN net, eval)"]
    targets = {
        "MLP fp32 / bare <= 1.1": best["sp.plane fp32"] / best["bare fp32 loop"],
        "BN net frozen / bare <= 1.1": best["sp.plane bn=frozen"] / bn_bare,
        "loss-landscapes / bf16 >= 3": best["loss-landscapes 3.0.6"] / best["sp.plane bf16"],
        "(info) bf16 max rel. loss error, trained MLP": bf16_err,
        "(info) bf16 max rel. loss error, untrained MLP": untrained_err,
        "(info) bf16 max abs. loss error, trained MLP": bf16_abs,
        "(info) fp32 loss range on the plane": float(fp32.max() - fp32.min()),
        "(info) fp32 loss at the centre": float(fp32[n // 2, n // 2]),
        "(info) BN net recompute / bare": best["sp.plane bn=recompute"] / bn_bare,
    }
    passed = {
        "MLP fp32 / bare <= 1.1": targets["MLP fp32 / bare <= 1.1"] <= 1.1,
        "BN net frozen / bare <= 1.1": targets["BN net frozen / bare <= 1.1"] <= 1.1,
        "loss-landscapes / bf16 >= 3": targets["loss-landscapes / bf16 >= 3"] >= 3.0,
    }
    env = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpu": platform.processor() or platform.machine(),
        "grid": f"{n}x{n}",
        "repeats": repeats,
        "command": "python packages/surface-probe/benchmarks/bench_surface_probe.py "
        + " ".join(sys.argv[1:] if argv is None else argv),
    }
    print(
        f"surface-probe benchmark: {n}x{n} plane, torch {env['torch']}, "
        f"{env['threads']} thread(s), min of {repeats} interleaved repetitions\n"
    )
    print("| workload | case | min s | median s | × bare |")
    print("|---|---|---:|---:|---:|")
    for label, rows in (("MLP 40-256-256-10, 4000×40", mlp_rows), ("BN conv net, 4×128", bn_rows)):
        for r in rows:
            print(
                f"| {label} | {r['case']} | {r['min_s']:.3f} | {r['median_s']:.3f} | "
                f"{r['ratio_to_bare']:.2f} |"
            )
    print("\n| target | measured | met |")
    print("|---|---:|:---:|")
    for k, v in targets.items():
        print(f"| {k} | {v:.3g} | {('yes' if passed[k] else 'NO') if k in passed else ''} |")
    if args.json:
        args.json.write_text(
            json.dumps(
                {"env": env, "mlp": mlp_rows, "bn": bn_rows, "targets": targets, "passed": passed},
                indent=2,
            )
        )
    return 1 if args.check and not all(passed.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
