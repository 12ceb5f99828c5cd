"""RSI, EB and γ along a finished training run (Guille-Escuret et al., "No Wrong Turns").

For a direction g at weights w_t and the run's own end point w* = w_T

    RSI = ⟨g, w_t − w*⟩ / ‖w_t − w*‖²,   EB = ‖g‖ / ‖w_t − w*‖,   γ = RSI / EB = cos∠(g, w_t − w*)

(:class:`surface_probe.GeometryRecorder`). RSI and γ share their sign, so "γ > 0" is "RSI > 0".

:func:`record` follows the two-pass protocol (:func:`surface_probe.two_pass`): pass 1 is the
cached run (its ``final_state`` is w*), pass 2 retrains the same config with the recorder attached
to the training loop (``train(..., attach=...)``) and must end at w* bit for bit. Should the cached
run come from a process whose arithmetic differs (thread count), both passes are trained afresh.
A finished recording is kept under ``directory/<config key>/`` and reloaded, never recorded twice.
The full-batch gradient is the mean over the first ``full_examples`` training examples, in eval mode
(no dropout), taken in batches of ``EVAL_BATCH_SIZE`` that normalise with their own BatchNorm
statistics, as training does.

:func:`summarise` reduces one recording to the numbers the claims read: shares of steps with
γ > 0 (minibatch, full-batch, random direction) and, over the band ``REGIME`` of the path cut into
``WINDOWS`` windows of equal steps, the coefficient of variation (std / |mean|) of the window means
of γ, RSI, EB and the distance ‖w_t − w*‖.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn
from torch.optim import Optimizer

import surface_probe as sp
from surface_probe.distributed import barrier, rank_and_world

from .data import DataBundle
from .train import EVAL_BATCH_SIZE, RunResult, build_initial_model, train

REGIME = (0.25, 0.9)
"""The band of the path (fractions of its steps) where the stable regime is looked for: after the
early transient, before the end where ‖w_t − w*‖ → 0 makes RSI and EB singular."""
WINDOWS = 13
"""Windows of equal steps the band is cut into (5 % of the path each)."""
CURVE_POINTS = 20
"""Window means kept per quantity for the report's curves (over the whole path)."""
QUANTITIES = ("gamma", "rsi", "eb")

Rows = dict[str, np.ndarray]
Attach = Callable[[nn.Module, Optimizer], object]


def record(
    run: RunResult,
    directory: Path,
    data: DataBundle,
    *,
    full_every: int,
    full_examples: int,
    progress: bool | None = None,
) -> Rows:
    """The recording of ``run`` (see the module docstring): made once, then loaded. Under
    torchrun, rank 0 makes it (the training loop writes only there) while the other ranks wait."""
    target = Path(directory) / run.config.key()
    if rank_and_world()[0] == 0 and not (target / "meta.npz").exists():
        _make(
            run, target, data, full_every=full_every, full_examples=full_examples, progress=progress
        )
    barrier()  # every rank, every call: rank 0 has written the recording before any rank reads it
    return sp.load_geometry(target)


def _make(
    run: RunResult,
    target: Path,
    data: DataBundle,
    *,
    full_every: int,
    full_examples: int,
    progress: bool | None,
) -> None:
    """Record ``run`` into ``target`` through a staging directory beside it."""
    staging = target.with_name(f"{target.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    n = full_examples or data.train_x.shape[0]
    starts = range(0, n, EVAL_BATCH_SIZE)
    batches = [
        (data.train_x[i : i + EVAL_BATCH_SIZE], data.train_y[i : i + EVAL_BATCH_SIZE])
        for i in starts
    ]
    model = build_initial_model(run.config)
    options: dict[str, Any] = {
        "full_data": batches,
        "full_every": full_every,
        "bn": "batch" if sp.WeightSpace.of(model).has_running_stats else "auto",
        "seed": run.config.init_seed,
    }

    def trained(name: str, attach: Attach | None) -> nn.Module:
        result = train(run.config, staging / name, data=data, progress=progress, attach=attach)
        model = build_initial_model(run.config)
        model.load_state_dict(result.final_state)
        return model

    def cached(attach: Attach | None) -> nn.Module:
        if attach is not None:
            return trained("pass2", attach)
        model = build_initial_model(run.config)
        model.load_state_dict(run.final_state)
        return model

    def fresh(attach: Attach | None) -> nn.Module:
        return trained("pass1" if attach is None else "pass2", attach)

    try:
        sp.two_pass(cached, staging / "recording", **options)
    except RuntimeError as exc:
        if "not deterministic" not in str(exc):
            raise
        shutil.rmtree(staging)  # the cached end point is not this process's: two fresh passes
        sp.two_pass(fresh, staging / "recording", **options)
    os.replace(staging / "recording", target)
    shutil.rmtree(staging)


def window_means(values: np.ndarray, start: float, end: float, windows: int) -> np.ndarray:
    """Means of the finite ``values`` in ``windows`` runs of equal length covering the fraction
    ``[start, end)`` of their indices (NaN for a window without a finite value)."""
    n = len(values)
    edges = np.linspace(start * n, end * n, windows + 1).round().astype(int)
    means = []
    for lo, hi in itertools.pairwise(edges):
        part = values[lo : max(hi, lo + 1)]
        part = part[np.isfinite(part)]
        means.append(float(part.mean()) if part.size else float("nan"))
    return np.asarray(means)


def variation(means: np.ndarray) -> float:
    """Coefficient of variation std / |mean| of ``means`` (inf for a zero mean, NaN if any is)."""
    if not np.all(np.isfinite(means)):
        return float("nan")
    centre = abs(float(means.mean()))
    return float(means.std()) / centre if centre > 0 else float("inf")


def positive_share(values: np.ndarray) -> float:
    """Share of the finite ``values`` that are > 0 (NaN when none is finite)."""
    finite = values[np.isfinite(values)]
    return float((finite > 0).mean()) if finite.size else float("nan")


def summarise(rows: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """The claims' numbers of one recording (see the module docstring)."""
    band = {q: window_means(rows[f"grad_{q}"], *REGIME, WINDOWS) for q in QUANTITIES}
    band["distance"] = window_means(rows["distance"], *REGIME, WINDOWS)
    curve_keys = [f"grad_{q}" for q in QUANTITIES] + ["full_gamma", "random_gamma"]
    return {
        "steps": len(rows["step"]),
        "positive_share": positive_share(rows["grad_gamma"]),
        "full_positive_share": positive_share(rows["full_gamma"]),
        "random_positive_share": positive_share(rows["random_gamma"]),
        "regime_cv": {q: variation(m) for q, m in band.items()},
        "regime_gamma": float(band["gamma"].mean()),
        "curve": {
            k.removeprefix("grad_"): window_means(rows[k], 0.0, 1.0, CURVE_POINTS).tolist()
            for k in curve_keys
        },
    }
