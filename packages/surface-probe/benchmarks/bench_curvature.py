"""Benchmark surface_probe's curvature and RSI/EB recorder against in-run anchors (markdown table).

    python packages/surface-probe/benchmarks/bench_curvature.py [--repeats R] [--json PATH]

Measured in one run, interleaved repetitions, medians:

- HVP cost: one Hessian-vector product of ``Objective`` on one batch ÷ one forward+backward pass
  of the same model on the same batch (target ≤ 2.5×), for an MLP 20-32-16-5 (batch 128) and an
  MLP 100-512-512-10 (batch 256).
- Top eigenvalue and trace on the small MLP (1,285 parameters, 4 batches of 128, fp32) against
  the dense float64 Hessian, at equal numbers of HVPs: ours (Lanczos / Hutchinson / Hutch++),
  PyHessian 0.1 (power iteration / its Hutchinson, ``dataloader`` mode on a deep copy: it calls
  ``model.eval()`` on what it is given) and curvlinops 3.0.1 (``HessianLinearOperator`` in the
  same Lanczos driver; ``hutchinson_trace``). Trace errors are the mean over 5 seeds.
- Recorder overhead: an SGD-momentum training step with a :class:`GeometryRecorder` (minibatch
  quantities) ÷ the same step without (target ≤ 1.10×), for the large MLP (320k parameters, little
  compute per parameter: the worst case for a recorder that makes ~15 passes over the parameters)
  and a small conv net; the full-batch gradient is priced separately as its cost ÷ one step.
"""

from __future__ import annotations

import argparse
import copy
import itertools
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from curvlinops import HessianLinearOperator, hutchinson_trace
from pyhessian import hessian as PyHessian
from torch import Tensor, nn
from torch.func import functional_call, hessian

import surface_probe as sp
from surface_probe._objective import Objective
from surface_probe.spectral import hutchinson, hutchpp, top_eigenpairs

Batches = list[tuple[Tensor, Tensor]]


def task(widths: list[int], batch: int, n_batches: int, seed: int = 0) -> tuple[nn.Module, Batches]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch * n_batches, widths[0], generator=g)
    y = (x @ torch.randn(widths[0], widths[-1], generator=g)).argmax(dim=1)
    torch.manual_seed(seed)
    layers: list[nn.Module] = []
    for a, b in itertools.pairwise(widths):
        layers += [nn.Linear(a, b), nn.Tanh()]
    model = nn.Sequential(*layers[:-1])
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(30):  # briefly trained: a non-trivial Hessian
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    return model, list(zip(x.split(batch), y.split(batch), strict=True))


def conv_task(seed: int = 0) -> tuple[nn.Module, Batches]:
    """A small conv net (25,578 parameters) on 2 batches of 128 random 3×32×32 images."""
    g = torch.Generator().manual_seed(seed)
    x, y = torch.randn(256, 3, 32, 32, generator=g), torch.randint(0, 10, (256,), generator=g)
    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.AvgPool2d(4),
        nn.Flatten(),
        nn.Linear(32 * 8 * 8, 10),
    )
    return model, list(zip(x.split(128), y.split(128), strict=True))


def median_time(fn: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def interleaved(fns: dict[str, Callable[[], Any]], repeats: int) -> dict[str, float]:
    for fn in fns.values():
        fn()  # warm-up
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            times[k].append(median_time(fn, 1))
    return {k: statistics.median(v) for k, v in times.items()}


def hvp_ratio(model: nn.Module, batches: Batches, repeats: int) -> dict[str, float]:
    """HVP time ÷ forward+backward time on one batch: graph rebuilt per product, and cached."""
    x, y = batches[0]
    plain = Objective(model, [batches[0]], cache_graph=False)
    cached = Objective(model, [batches[0]], cache_graph=True)
    v = torch.randn(plain.dim)
    live = copy.deepcopy(model)

    def fwd_bwd() -> None:
        live.zero_grad()
        F.cross_entropy(live(x), y).backward()

    fns = {"plain": lambda: plain.hvp(v), "cached": lambda: cached.hvp(v), "fb": fwd_bwd}
    t = interleaved(fns, repeats)
    return {"rebuilt": t["plain"] / t["fb"], "cached": t["cached"] / t["fb"]}


def dense_hessian(model: nn.Module, batches: Batches) -> Tensor:
    m = copy.deepcopy(model).double()
    names = [n for n, _ in m.named_parameters()]
    shapes = [p.shape for p in m.parameters()]
    flat = torch.cat([p.detach().reshape(-1) for p in m.parameters()])
    n = sum(len(b[1]) for b in batches)

    def loss(theta: Tensor) -> Tensor:
        parts = torch.split(theta, [s.numel() for s in shapes])
        params = {k: p.view(s) for k, p, s in zip(names, parts, shapes, strict=True)}
        return sum(
            F.cross_entropy(functional_call(m, params, (x.double(),)), y) * len(y) / n
            for x, y in batches
        )  # type: ignore[return-value]

    return hessian(loss)(flat)


def eigen_and_trace(model: nn.Module, batches: Batches) -> list[dict[str, Any]]:
    h = dense_hessian(model, batches)
    lam, tr = float(torch.linalg.eigvalsh(h).max()), float(torch.trace(h))
    rows: list[dict[str, Any]] = []
    obj = Objective(model, batches)

    def lanczos(case: str, matvec: Callable[[Tensor], Tensor]) -> int:
        t0 = time.perf_counter()
        found = top_eigenpairs(matvec, obj.point, 1, tol=1e-6)
        error = abs(found.values[0] - lam) / lam
        rows.append(_row("λ_max", case, time.perf_counter() - t0, found.num_hvps, error))
        return found.num_hvps

    k = lanczos("ours: Lanczos (ARPACK)", obj.hvps)
    lanczos("ours, cache_graph=True", Objective(model, batches, cache_graph=True).hvps)
    ph = PyHessian(copy.deepcopy(model), nn.CrossEntropyLoss(), dataloader=batches, cuda=False)
    torch.manual_seed(0)
    t0 = time.perf_counter()
    (ph_lam,), _ = ph.eigenvalues(maxIter=k, tol=0.0)
    seconds = time.perf_counter() - t0
    rows.append(
        _row("λ_max", "PyHessian 0.1: power iteration", seconds, k, abs(ph_lam - lam) / lam)
    )
    cl_model = copy.deepcopy(model).eval()
    params = list(cl_model.parameters())
    loss = nn.CrossEntropyLoss()
    op = HessianLinearOperator(cl_model, loss, params, batches, check_deterministic=False)
    lanczos("curvlinops 3.0.1 HVP in the same Lanczos", lambda vs: (op @ vs.T).T)
    n = 60

    def ours_hutchinson(seed: int) -> float:
        kw = {"rtol": 0.0, "min_samples": n, "max_samples": n}
        return hutchinson(obj.hvps, obj.point, seed=seed, **kw).value  # type: ignore[arg-type]

    def pyhessian_trace(seed: int) -> float:
        torch.manual_seed(seed)
        return float(np.mean(ph.trace(maxIter=n, tol=0.0)))

    def curvlinops_trace(seed: int) -> float:
        torch.manual_seed(seed)
        return float(hutchinson_trace(op, n))

    timed: dict[str, tuple[float, list[float]]] = {}
    for name, run in {
        "ours: Hutchinson": ours_hutchinson,
        "ours: Hutch++": lambda seed: hutchpp(obj.hvps, obj.point, n, seed=seed).value,
        "PyHessian 0.1: trace": pyhessian_trace,
        "curvlinops 3.0.1: hutchinson_trace (60 vectors in one vmapped pass)": curvlinops_trace,
    }.items():
        t0 = time.perf_counter()
        errors = [abs(run(seed) - tr) / abs(tr) for seed in range(5)]
        timed[name] = ((time.perf_counter() - t0) / 5, errors)
    for name, (seconds, errors) in timed.items():
        rows.append(_row("trace", name, seconds, n, float(np.mean(errors))))
    return rows


def _row(quantity: str, case: str, seconds: float, hvps: int, error: float) -> dict[str, Any]:
    return {
        "quantity": quantity,
        "case": case,
        "seconds": seconds,
        "hvps": hvps,
        "rel_error": error,
    }


def recorder_overhead(model: nn.Module, batches: Batches, repeats: int) -> dict[str, float]:
    """Median step time of two identical nets, one with a recorder, stepped alternately."""
    x, y = batches[0]
    nets = {"plain": copy.deepcopy(model), "recorded": copy.deepcopy(model)}
    opts = {k: torch.optim.SGD(n.parameters(), lr=1e-3, momentum=0.9) for k, n in nets.items()}

    def step(key: str) -> Callable[[], None]:
        def run() -> None:
            opts[key].zero_grad()
            F.cross_entropy(nets[key](x), y).backward()
            opts[key].step()

        return run

    with tempfile.TemporaryDirectory() as tmp:
        rec = sp.GeometryRecorder(nets["recorded"], opts["recorded"], model, tmp)
        t = interleaved({k: step(k) for k in nets}, repeats)
        rec.close()
        full = Objective(model, batches)
        full_time = median_time(lambda: (full.at(nets["plain"]), full.gradient()), 5)
    return {
        "step_plain_s": t["plain"],
        "step_recorded_s": t["recorded"],
        "ratio": t["recorded"] / t["plain"],
        "full_batch_gradient_in_steps": full_time / t["plain"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    small, small_data = task([20, 32, 16, 5], 128, 4)
    large, large_data = task([100, 512, 512, 10], 256, 4)
    result: dict[str, Any] = {
        "hvp_ratio_small": hvp_ratio(small, small_data, args.repeats),
        "hvp_ratio_large": hvp_ratio(large, large_data, args.repeats),
        "estimators": eigen_and_trace(small, small_data),
        "recorder": recorder_overhead(large, large_data, args.repeats),
        "recorder_conv": recorder_overhead(*conv_task(), args.repeats),
    }
    for size in ("small", "large"):
        r = result[f"hvp_ratio_{size}"]
        print(
            f"HVP / (forward+backward), {size} MLP: graph rebuilt {r['rebuilt']:.2f}×, "
            f"cached {r['cached']:.2f}×  (target ≤ 2.5×)"
        )
    print("\n| quantity | case | HVPs | seconds | rel. error |\n|---|---|---:|---:|---:|")
    for r in result["estimators"]:
        cells = [
            r["quantity"],
            r["case"],
            r["hvps"],
            f"{r['seconds']:.3f}",
            f"{r['rel_error']:.2e}",
        ]
        print("| " + " | ".join(str(c) for c in cells) + " |")
    for key, name in (("recorder", "MLP 100-512-512-10"), ("recorder_conv", "conv net")):
        rec = result[key]
        print(
            f"recorder, {name}: step {rec['step_plain_s'] * 1e3:.2f} ms → "
            f"{rec['step_recorded_s'] * 1e3:.2f} ms = {rec['ratio']:.3f}× (target ≤ 1.10×); "
            f"full-batch gradient = {rec['full_batch_gradient_in_steps']:.2f} training steps"
        )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=1)


if __name__ == "__main__":
    main()
