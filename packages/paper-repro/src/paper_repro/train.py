"""The training loop: one model, one data set, one optimizer schedule, fully determined by its
:class:`TrainConfig`.

Determinism and sharing across a comparison
    * Initial weights depend on ``init_seed`` only: the model is built on the CPU under
      ``torch.manual_seed(init_seed)``, then re-initialised by ``inits.init_weights`` — the same
      θ_0 whichever optimizer trains it, on whichever device.
    * Training epoch ``e`` (1-based) visits ``minibatch_order(N, batch_size, seed=data_seed,
      epoch=e)``, the same minibatches for every optimizer.
    * The global torch RNG (dropout masks) is reseeded at the start of every epoch from
      ``(data_seed, epoch)``, so a run resumed at an epoch boundary draws exactly the masks an
      unbroken run draws; the checkpoint therefore needs no RNG state. The caller's RNG state is
      restored when :func:`train` returns (``torch.random.fork_rng``).

One step
    Every optimizer is stepped with a closure ``c()`` that zeroes the gradients, runs forward +
    loss (under bf16 autocast if asked), backpropagates, and clips the gradient norm to
    ``grad_clip`` if set. Runge–Kutta optimizers call ``c`` once per stage (θ_t, then the probe
    points θ_t + h·a_ij·k_j); for them the closure (1) restores the RNG state captured at the start
    of the step, so every stage sees the same dropout masks — the stages evaluate one stochastic
    objective L_B at several points — and (2) is wrapped in
    ``rk_optim.bn_stats_from_first_stage``, so BatchNorm running statistics are updated once per
    step, by the first stage at θ_t, as for one-evaluation optimizers.

Records (``RunResult.history``, one dict per epoch, epoch 0 = the initial weights)
    ``train_loss``/``train_acc`` and ``test_loss``/``test_acc`` are evaluated after the epoch in
    eval mode over the whole split (example-weighted means; token-weighted for language models);
    ``dist_from_init`` = ‖θ_e − θ_0‖₂ over all parameters (buffers excluded); ``grad_evals`` the
    cumulative number of minibatch gradient evaluations; ``seconds`` the wall time of the epoch's
    training steps (evaluation excluded).

Run directory ``out_dir/<config.key()>/``
    ``config.json``, ``init.pt`` (θ_0 state_dict), ``checkpoint.pt`` (after every epoch: model and
    optimizer state, epoch, phase, history), ``history.json``, and ``final.pt`` when finished. All
    ``.pt`` files load with ``torch.load(weights_only=True)``; all writes are atomic.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

import rk_optim

from . import checkpoint
from .data import DataBundle, load_dataset, minibatch_order
from .device import autocast, check_precision, resolve_device
from .inits import init_weights, parse_init
from .models import build_model
from .optimizers import DEFAULT_LR, evaluations_per_step, make_optimizer
from .schedule import Phase, parse_schedule, phase_index

StateDict = dict[str, torch.Tensor]

EVAL_BATCH_SIZE = 256
"""Minimum batch size of the per-epoch evaluation passes (no gradients, so larger is cheaper)."""


@dataclass
class TrainConfig:
    """Everything that determines a training run (JSON-serialisable; see :meth:`key`)."""

    model: str
    model_kwargs: dict[str, Any]
    dataset: str
    dataset_kwargs: dict[str, Any]
    schedule: str
    lr: float | None
    epochs: int
    batch_size: int = 128
    init: str = "default"
    init_seed: int = 0
    data_seed: int = 0
    weight_decay: float = 0.0
    momentum: float = 0.9
    device: str = "auto"
    precision: str = "fp32"
    grad_clip: float | None = None
    phases: list[Phase] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.epochs, int) or self.epochs < 1:
            raise ValueError(f"epochs must be a positive integer, got {self.epochs!r}")
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {self.batch_size!r}")
        if self.lr is not None and not (math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be positive or None, got {self.lr!r}")
        clip = self.grad_clip
        if clip is not None and not (math.isfinite(clip) and clip > 0):
            raise ValueError(f"grad_clip must be positive or None, got {self.grad_clip!r}")
        check_precision(self.precision)
        parse_init(self.init)
        self.phases = parse_schedule(self.schedule, self.epochs)

    def to_dict(self) -> dict[str, Any]:
        """The config's fields as a JSON-ready dict (derived ``phases`` excluded)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.init}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        """Inverse of :meth:`to_dict`; unknown keys are an error naming them."""
        names = {f.name for f in dataclasses.fields(cls) if f.init}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"unknown TrainConfig keys {unknown}; known: {sorted(names)}")
        return cls(**d)

    def key(self) -> str:
        """Stable 16-hex-digit hash of all fields (sha256 of their sorted-key JSON)."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def phase_lr(self, phase: Phase) -> float:
        """Learning rate of ``phase``: its own, else the run's ``lr``, else the default."""
        if phase.lr is not None:
            return phase.lr
        return self.lr if self.lr is not None else DEFAULT_LR[phase.optimizer]


@dataclass
class RunResult:
    """A finished run: its config, per-epoch history, and initial/final weights (CPU tensors)."""

    config: TrainConfig
    history: list[dict[str, Any]]
    init_state: StateDict
    final_state: StateDict
    run_dir: Path


def build_initial_model(config: TrainConfig) -> nn.Module:
    """The model of ``config`` with its initial weights θ_0 (on the CPU), a function of
    ``(model, model_kwargs, init, init_seed)`` only."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.init_seed)
        model = build_model(config.model, **config.model_kwargs)
    init_weights(model, config.init, seed=config.init_seed)
    return model


def _epoch_seed(data_seed: int, epoch: int) -> int:
    """Seed of the global RNG (dropout) for training epoch ``epoch``."""
    return int(np.random.SeedSequence([data_seed, epoch, 0x0D50]).generate_state(1, np.uint64)[0])


def _cpu_state(model: nn.Module) -> StateDict:
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def _same_state(a: StateDict, b: StateDict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _flat_loss(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy; (B, T, V) language-model logits are flattened against (B, T) targets."""
    return F.cross_entropy(output.reshape(-1, output.shape[-1]), target.reshape(-1))


@torch.no_grad()
def evaluate(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    batch_size: int,
    device: torch.device,
    precision: str,
) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``model`` (eval mode) over ``(x, y)``, weighted by
    example (by token for language models). One host sync at the end."""
    was_training = model.training
    model.eval()
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    correct = torch.zeros((), dtype=torch.int64, device=device)
    for start in range(0, x.shape[0], batch_size):
        xb, yb = x[start : start + batch_size], y[start : start + batch_size]
        with autocast(device, precision):
            out = model(xb)
        logits = out.reshape(-1, out.shape[-1]).float()
        target = yb.reshape(-1)
        loss_sum += F.cross_entropy(logits, target, reduction="sum").double()
        correct += (logits.argmax(dim=1) == target).sum()
    model.train(was_training)
    count = y.numel()
    return loss_sum.item() / count, correct.item() / count


def _distance(model: nn.Module, init_params: list[torch.Tensor]) -> float:
    """‖θ − θ_0‖₂ over all parameters, accumulated in float64."""
    with torch.no_grad():
        sq = torch.zeros((), dtype=torch.float64, device=init_params[0].device)
        for p, p0 in zip(model.parameters(), init_params, strict=True):
            sq += (p.detach().double() - p0.double()).pow(2).sum()
    return math.sqrt(sq.item())


def _capture_rng(device: torch.device) -> Callable[[], None]:
    """Return a function that restores the global RNG of ``device`` to its state now."""
    if device.type == "cuda":
        cuda_state = torch.cuda.get_rng_state(device)
        return lambda: torch.cuda.set_rng_state(cuda_state, device)
    cpu_state = torch.get_rng_state()
    return lambda: torch.set_rng_state(cpu_state)


def train_epoch(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    config: TrainConfig,
    epoch: int,
    device: torch.device,
    train_x: torch.Tensor,
    train_y: torch.Tensor,
) -> int:
    """Run training epoch ``epoch`` (1-based); return the number of optimizer steps taken."""
    torch.manual_seed(_epoch_seed(config.data_seed, epoch))
    batches = minibatch_order(
        train_x.shape[0], config.batch_size, seed=config.data_seed, epoch=epoch
    )
    multi_stage = evaluations_per_step(optimizer) > 1
    params = [p for g in optimizer.param_groups for p in g["params"]]
    model.train()
    for idx in batches:
        idx = idx.to(device, non_blocking=True)
        xb, yb = train_x[idx], train_y[idx]
        restore_rng = _capture_rng(device) if multi_stage else None

        def closure(
            xb: torch.Tensor = xb,
            yb: torch.Tensor = yb,
            restore_rng: Callable[[], None] | None = restore_rng,
        ) -> Any:
            if restore_rng is not None:
                restore_rng()
            optimizer.zero_grad(set_to_none=True)
            with autocast(device, config.precision):
                loss = _flat_loss(model(xb), yb)
            loss.backward()  # type: ignore[no-untyped-call]
            if config.grad_clip is not None:
                nn.utils.clip_grad_norm_(params, config.grad_clip)
            return loss

        if multi_stage:
            optimizer.step(rk_optim.bn_stats_from_first_stage(model, closure))
        else:
            optimizer.step(closure)
    return len(batches)


def _build_optimizer(model: nn.Module, config: TrainConfig, phase: Phase) -> torch.optim.Optimizer:
    return make_optimizer(
        phase.optimizer,
        model.parameters(),
        lr=config.phase_lr(phase),
        momentum=config.momentum,
        weight_decay=config.weight_decay,
    )


def _write_history(
    run_dir: Path, history: list[dict[str, Any]], device: torch.device, *, complete: bool
) -> None:
    record = {"complete": complete, "device": str(device), "history": history}
    checkpoint.save_json(record, run_dir / "history.json")


def _load_finished(config: TrainConfig, run_dir: Path) -> RunResult | None:
    history_path, final_path = run_dir / "history.json", run_dir / "final.pt"
    if not (history_path.exists() and final_path.exists()):
        return None
    record = json.loads(history_path.read_text())
    if not record.get("complete"):
        return None
    return RunResult(
        config=config,
        history=record["history"],
        init_state=checkpoint.load(run_dir / "init.pt"),
        final_state=checkpoint.load(final_path),
        run_dir=run_dir,
    )


def train(
    config: TrainConfig,
    out_dir: Path,
    *,
    data: DataBundle | None = None,
    progress: bool | None = None,
) -> RunResult:
    """Train ``config`` in ``out_dir/<config.key()>/`` and return its result.

    Idempotent: a finished run is loaded, not retrained. Resumable: an interrupted run continues
    from its last per-epoch checkpoint and ends bitwise equal to an unbroken run (same device).
    ``data`` skips ``load_dataset(config.dataset, **config.dataset_kwargs)``; ``progress`` shows a
    tqdm bar (``None``: only when stderr is a terminal).
    """
    run_dir = Path(out_dir) / config.key()
    finished = _load_finished(config, run_dir)
    if finished is not None:
        return finished
    if data is None:
        data = load_dataset(config.dataset, **config.dataset_kwargs)
    device = resolve_device(config.device)
    run_dir.mkdir(parents=True, exist_ok=True)
    checkpoint.save_json(config.to_dict(), run_dir / "config.json")
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        return _run(config, data, device, run_dir, progress)


def _run(
    config: TrainConfig,
    data: DataBundle,
    device: torch.device,
    run_dir: Path,
    progress: bool | None,
) -> RunResult:
    model = build_initial_model(config)
    init_path, ckpt_path = run_dir / "init.pt", run_dir / "checkpoint.pt"
    if not init_path.exists():
        checkpoint.save(_cpu_state(model), init_path)
    init_state: StateDict = checkpoint.load(init_path)
    if not _same_state(init_state, _cpu_state(model)):
        raise RuntimeError(
            f"{init_path} does not match the initial weights this code builds for the config; "
            "the model or init code changed since the run started — use a new out_dir"
        )
    model.to(device)
    init_params = [p.detach().clone() for p in model.parameters()]
    train_x, train_y = data.train_x.to(device), data.train_y.to(device)
    test_x, test_y = data.test_x.to(device), data.test_y.to(device)
    eval_bs = max(config.batch_size, EVAL_BATCH_SIZE)

    def record(epoch: int, phase: Phase, grad_evals: int, seconds: float) -> dict[str, Any]:
        train_loss, train_acc = evaluate(
            model, train_x, train_y, batch_size=eval_bs, device=device, precision=config.precision
        )
        test_loss, test_acc = evaluate(
            model, test_x, test_y, batch_size=eval_bs, device=device, precision=config.precision
        )
        return {
            "epoch": epoch,
            "optimizer": phase.optimizer,
            "lr": config.phase_lr(phase),
            "train_loss": train_loss,
            "train_acc": train_acc,
            "test_loss": test_loss,
            "test_acc": test_acc,
            "dist_from_init": _distance(model, init_params),
            "grad_evals": grad_evals,
            "seconds": seconds,
        }

    phases = config.phases
    if ckpt_path.exists():
        ckpt = checkpoint.load(ckpt_path)
        model.load_state_dict(ckpt["model"])
        current = int(ckpt["phase"])
        optimizer = _build_optimizer(model, config, phases[current])
        optimizer.load_state_dict(ckpt["optimizer"])
        history: list[dict[str, Any]] = json.loads(ckpt["history"])
    else:
        current = 0
        optimizer = _build_optimizer(model, config, phases[0])
        history = [record(0, phases[0], 0, 0.0)]
    start = history[-1]["epoch"]
    grad_evals = int(history[-1]["grad_evals"])

    show = sys.stderr.isatty() if progress is None else progress
    bar = tqdm(total=config.epochs, initial=start, disable=not show, desc=config.schedule)
    try:
        for epoch in range(start + 1, config.epochs + 1):
            index = phase_index(phases, epoch)
            if index != current:  # phase switch: fresh optimizer, no state carried over
                current = index
                optimizer = _build_optimizer(model, config, phases[index])
            tic = time.perf_counter()
            steps = train_epoch(model, optimizer, config, epoch, device, train_x, train_y)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            seconds = time.perf_counter() - tic
            grad_evals += steps * evaluations_per_step(optimizer)
            history.append(record(epoch, phases[index], grad_evals, seconds))
            checkpoint.save(
                {
                    "model": _cpu_state(model),
                    "optimizer": optimizer.state_dict(),
                    "epoch": epoch,
                    "phase": current,
                    "history": json.dumps(history),
                },
                ckpt_path,
            )
            _write_history(run_dir, history, device, complete=False)
            bar.update(1)
            last = history[-1]
            bar.set_postfix(loss=f"{last['train_loss']:.3g}", acc=f"{last['test_acc']:.3f}")
    finally:
        bar.close()
    final_state = _cpu_state(model)
    checkpoint.save(final_state, run_dir / "final.pt")
    _write_history(run_dir, history, device, complete=True)
    return RunResult(config, history, init_state, final_state, run_dir)
