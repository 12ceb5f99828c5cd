"""Benchmark: the optimizers' own cost per step, and a full training step of a small CNN.

Optimizer-only part: on the parameters of a ~1M and a ~10M parameter conv net, with fixed
gradients (the closure only re-attaches stored gradient tensors to ``.grad``, no forward or
backward; successive calls alternate between two gradient sets, so the stages of one step see
distinct tensors as after real backward passes), time per step of Heun and AdamRK2 against
the best of torch's implementations (for-loop, foreach, fused) of SGD-momentum and Adam.
Repetitions of all variants are interleaved and medians are compared within the same run.

Full-step part: a small CNN on a fixed minibatch, one Heun step (two forward/backward passes)
against two SGD steps.

    python packages/rk-optim/benchmarks/bench_rk_optim.py [--quick] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import torch
from torch import nn

from rk_optim import AdamRK2, Heun

Factory = Callable[[list[nn.Parameter]], torch.optim.Optimizer]


def conv_net(widths: tuple[int, ...], num_classes: int = 10) -> nn.Module:
    layers: list[nn.Module] = []
    cin = 3
    for w in widths:
        layers += [nn.Conv2d(cin, w, 3, padding=1), nn.BatchNorm2d(w), nn.ReLU()]
        cin = w
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, num_classes)]
    return nn.Sequential(*layers)


def torch_variants(cls: type[torch.optim.Optimizer], **kw: Any) -> dict[str, Factory]:
    """The implementations torch offers for this device (for-loop, foreach, fused)."""
    out: dict[str, Factory] = {}
    impls: dict[str, dict[str, Any]] = {
        "forloop": {"foreach": False},
        "foreach": {"foreach": True},
        "fused": {"fused": True},
    }
    for impl, flags in impls.items():
        probe = [nn.Parameter(torch.zeros(2))]
        try:
            opt = cls(probe, **kw, **flags)
            probe[0].grad = torch.zeros(2)
            opt.step()
        except (RuntimeError, ValueError, TypeError):
            continue

        def factory(ps: list[nn.Parameter], c: Any = cls, f: dict[str, Any] = flags) -> Any:
            return c(ps, **kw, **f)

        out[impl] = factory
    return out


def time_steps(
    opt: torch.optim.Optimizer,
    params: list[nn.Parameter],
    grads: tuple[list[torch.Tensor], ...],
    n: int,
) -> float:
    loss = torch.zeros(())
    calls = [0]

    def closure() -> Any:
        for p, g in zip(params, grads[calls[0] % 2], strict=True):
            p.grad = g
        calls[0] += 1
        return loss

    closure()
    t0 = time.perf_counter()
    for _ in range(n):
        opt.step(closure)
    return (time.perf_counter() - t0) / n


def optimizer_only(widths: tuple[int, ...], reps: int, steps: int) -> dict[str, Any]:
    torch.manual_seed(0)
    model = conv_net(widths)
    n_params = sum(p.numel() for p in model.parameters())
    grads = tuple([torch.randn_like(p) * 1e-3 for p in model.parameters()] for _ in range(2))
    variants: dict[str, Factory] = {}
    for impl, f in torch_variants(torch.optim.SGD, lr=1e-3, momentum=0.9).items():
        variants[f"sgdm/{impl}"] = f
    for impl, f in torch_variants(torch.optim.Adam, lr=1e-4).items():
        variants[f"adam/{impl}"] = f
    ours: dict[str, dict[str, Any]] = {
        "forloop": {"foreach": False},
        "foreach": {"foreach": True},
        "fused": {"fused": True},
        "default": {},
    }
    for impl, flags in ours.items():
        variants[f"heun/{impl}"] = partial(Heun, lr=1e-3, **flags)
        variants[f"adam_rk2/{impl}"] = partial(AdamRK2, lr=1e-4, **flags)
    # every variant owns its own copy of the parameters; gradients are shared, read-only
    setups = {}
    for name, factory in variants.items():
        params = [nn.Parameter(p.detach().clone()) for p in model.parameters()]
        setups[name] = (factory(params), params)
    times: dict[str, list[float]] = {k: [] for k in variants}
    for _ in range(reps):  # interleaved repetitions
        for name, (opt, params) in setups.items():
            times[name].append(time_steps(opt, params, grads, steps))
    med = {k: statistics.median(v) for k, v in times.items()}
    best = {
        base: min((v, k) for k, v in med.items() if k.startswith(base + "/"))
        for base in ("sgdm", "adam")
    }
    return {
        "widths": list(widths),
        "parameters": n_params,
        "median_seconds": med,
        "best_torch": {k: v[1] for k, v in best.items()},
        "ratio_heun_vs_sgdm": med["heun/default"] / best["sgdm"][0],
        "ratio_adam_rk2_vs_adam": med["adam_rk2/default"] / best["adam"][0],
    }


def full_step(reps: int, steps: int) -> dict[str, Any]:
    torch.manual_seed(0)
    base = conv_net((16, 32, 32))
    x, y = torch.randn(64, 3, 32, 32), torch.randint(0, 10, (64,))

    def make(kind: str) -> Callable[[], None]:
        model = conv_net((16, 32, 32))
        model.load_state_dict(base.state_dict())
        opt: torch.optim.Optimizer
        if kind == "heun":
            opt = Heun(model.parameters(), lr=0.01)
        else:
            opt = torch.optim.SGD(model.parameters(), lr=0.01)

        def closure() -> Any:
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()  # type: ignore[no-untyped-call]
            return loss

        def one_heun_or_two_sgd() -> None:
            for _ in range(1 if kind == "heun" else 2):
                opt.step(closure)

        return one_heun_or_two_sgd

    runs = {"heun_step": make("heun"), "two_sgd_steps": make("sgd")}
    times: dict[str, list[float]] = {k: [] for k in runs}
    for _ in range(reps):
        for k, f in runs.items():
            t0 = time.perf_counter()
            for _ in range(steps):
                f()
            times[k].append((time.perf_counter() - t0) / steps)
    med = {k: statistics.median(v) for k, v in times.items()}
    return {"median_seconds": med, "ratio_heun_vs_two_sgd": med["heun_step"] / med["two_sgd_steps"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="few repetitions (a smoke run)")
    ap.add_argument("--json", type=Path, default=None, help="write the results to this JSON file")
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    reps, steps = (5, 3) if args.quick else (21, 5)
    results: dict[str, Any] = {
        "torch": torch.__version__,
        "threads": args.threads,
        "reps": reps,
        "steps_per_rep": steps,
        "optimizer_only": [
            optimizer_only(w, reps, steps) for w in ((64, 128, 256, 256), (200, 400, 800, 800))
        ],
        "full_step": full_step(reps, steps),
    }
    print("| net | params | Heun / best SGD-momentum | target | AdamRK2 / best Adam | target |")
    print("|---|---|---|---|---|---|")
    for r in results["optimizer_only"]:
        print(
            f"| conv {r['widths']} | {r['parameters'] / 1e6:.2f}M | {r['ratio_heun_vs_sgdm']:.2f}× "
            f"(vs {r['best_torch']['sgdm']}) | ≤ 2.0× | {r['ratio_adam_rk2_vs_adam']:.2f}× "
            f"(vs {r['best_torch']['adam']}) | ≤ 2.0× |"
        )
    print()
    print(
        "| variant | "
        + " | ".join(f"{r['parameters'] / 1e6:.2f}M (ms/step)" for r in results["optimizer_only"])
        + " |"
    )
    print("|---|" + "---|" * len(results["optimizer_only"]))
    for k in results["optimizer_only"][0]["median_seconds"]:
        row = " | ".join(f"{r['median_seconds'][k] * 1e3:.2f}" for r in results["optimizer_only"])
        print(f"| {k} | {row} |")
    fs = results["full_step"]
    print()
    print("| small CNN full step | ms | ")
    print("|---|---|")
    for k, v in fs["median_seconds"].items():
        print(f"| {k} | {v * 1e3:.2f} |")
    print(f"| ratio Heun / two SGD (target ≤ 1.1) | {fs['ratio_heun_vs_two_sgd']:.3f} |")
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
