"""The training loop: one model, one data set, one optimizer schedule, fully determined by its
:class:`TrainConfig` (see the package docstring for determinism and the records)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

import rk_optim

from ..data import DataBundle, load_dataset, minibatch_order
from ..device import autocast, resolve_device
from ..inits import init_weights
from ..models import build_model
from ..optimizers import evaluations_per_step, make_optimizer
from ..schedule import Phase, phase_index
from ..seeding import derive_seed, forked_torch_rng, reseed_torch, rng_rewinder, seeded_torch
from .config import TrainConfig
from .metrics import EVAL_BATCH_SIZE, epoch_metrics, flat_loss
from .rundir import RunDir, RunResult, StateDict

Attach = Callable[[nn.Module, torch.optim.Optimizer], object]
"""An observer of a run: called with the model and each optimizer the run builds (once per
phase), before that optimizer's first step. It may register hooks on both (e.g. a
``surface_probe.GeometryRecorder``); it must not change them."""

DROPOUT_TAG = 0x0D50
"""Third key of the per-epoch dropout seed ``derive_seed(data_seed, epoch, DROPOUT_TAG)``."""

GRADIENT_CHUNK = 8192
"""Largest number of examples one forward/backward pass takes: a larger batch (the paper
preset's full-batch quasi-Newton steps over 50,000 CIFAR-10 images) is split into chunks of this
size whose gradients are accumulated, each weighted by its share of the batch, and whose
BatchNorm layers normalise with each chunk's own statistics. No smaller preset reaches it."""

BN_REFRESH_EXAMPLES = 1024
"""How many training examples (the first ones) estimate the BatchNorm statistics every epoch
ends with (:func:`refresh_bn_statistics`)."""


def build_initial_model(config: TrainConfig) -> nn.Module:
    """The model of ``config`` with its initial weights θ_0 (on the CPU), a function of
    ``(model, model_kwargs, init, init_seed)`` only."""
    with seeded_torch(config.init_seed):
        model = build_model(config.model, **config.model_kwargs)
    init_weights(model, config.init, seed=config.init_seed)
    return model


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
    reseed_torch(derive_seed(config.data_seed, epoch, DROPOUT_TAG))
    batches = minibatch_order(
        train_x.shape[0], config.batch_size, seed=config.data_seed, epoch=epoch
    )
    multi_stage = evaluations_per_step(optimizer) > 1
    params = [p for g in optimizer.param_groups for p in g["params"]]
    model.train()
    for idx in batches:
        idx = idx.to(device, non_blocking=True)
        xb, yb = train_x[idx], train_y[idx]
        rewind = rng_rewinder(device) if multi_stage else None

        def closure(
            xb: torch.Tensor = xb,
            yb: torch.Tensor = yb,
            rewind: Callable[[], None] | None = rewind,
        ) -> Any:
            if rewind is not None:
                rewind()
            optimizer.zero_grad(set_to_none=True)
            loss = torch.zeros((), device=device)
            for start in range(0, xb.shape[0], GRADIENT_CHUNK):
                xc, yc = xb[start : start + GRADIENT_CHUNK], yb[start : start + GRADIENT_CHUNK]
                with autocast(device, config.precision):
                    part = flat_loss(model(xc), yc)
                if xc.shape[0] < xb.shape[0]:
                    part = part * (yc.numel() / yb.numel())
                part.backward()  # type: ignore[no-untyped-call]
                loss = loss + part.detach()
            if config.grad_clip is not None:
                nn.utils.clip_grad_norm_(params, config.grad_clip)
            return loss

        if multi_stage:
            optimizer.step(rk_optim.bn_stats_from_first_stage(model, closure))
        else:
            optimizer.step(closure)
    return len(batches)


def refresh_bn_statistics(
    model: nn.Module, x: torch.Tensor, *, batch_size: int, device: torch.device, precision: str
) -> None:
    """Set every BatchNorm layer's running statistics to the cumulative average of the batch
    statistics of ``x`` (in ``batch_size`` batches) at the current weights, dropout off.

    Run at the end of every epoch, before it is recorded and saved: the running averages
    (momentum 0.1) hold the statistics of the last few iterates, which large steps (SGD at the
    top of the paper's grid, full-batch quasi-Newton steps) leave far from the weights they are
    saved with, so eval-mode losses would judge a network that was never trained. Training-mode
    forward passes never read running statistics and no random number is drawn here, so the
    parameters' trajectory is unchanged."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    modes = [m.training for m in model.modules()]
    momenta = [m.momentum for m in norms]
    model.eval()
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the batches
        m.train()
    try:
        with torch.no_grad(), autocast(device, precision):
            for start in range(0, x.shape[0], batch_size):
                model(x[start : start + batch_size])
    finally:
        for m, momentum in zip(norms, momenta, strict=True):
            m.momentum = momentum
        for module, mode in zip(model.modules(), modes, strict=True):
            module.training = mode


def _build_optimizer(model: nn.Module, config: TrainConfig, phase: Phase) -> torch.optim.Optimizer:
    return make_optimizer(
        phase.optimizer,
        model.parameters(),
        lr=config.phase_lr(phase),
        momentum=config.momentum,
        weight_decay=config.weight_decay,
    )


def _cpu_state(model: nn.Module) -> StateDict:
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def train(
    config: TrainConfig,
    out_dir: Path,
    *,
    data: DataBundle | None = None,
    progress: bool | None = None,
    attach: Attach | None = None,
) -> RunResult:
    """Train ``config`` in ``out_dir/<config.key()>/`` and return its result.

    Idempotent: a finished run is loaded, not retrained. Resumable: an interrupted run continues
    from its last per-epoch checkpoint and ends bitwise equal to an unbroken run (same device).
    ``data`` skips ``load_dataset(config.dataset, **config.dataset_kwargs)``; ``progress`` shows a
    tqdm bar (``None``: only when stderr is a terminal). ``attach`` (see :data:`Attach`) observes
    every step, so it needs a fresh run: a run directory that already holds training is a
    ``ValueError``. Observing leaves the run bitwise unchanged.
    """
    run_dir = RunDir(Path(out_dir), config)
    if attach is not None and (run_dir.final.exists() or run_dir.checkpoint.exists()):
        raise ValueError(
            f"attach observes every step and needs a fresh run, but {run_dir.path} already holds "
            "training; use an empty out_dir"
        )
    finished = run_dir.load_finished()
    if finished is not None:
        return finished
    if data is None:
        data = load_dataset(config.dataset, **config.dataset_kwargs)
    device = resolve_device(config.device)
    with forked_torch_rng(device):
        return _run(config, data, device, run_dir, progress, attach)


def _run(
    config: TrainConfig,
    data: DataBundle,
    device: torch.device,
    run_dir: RunDir,
    progress: bool | None,
    attach: Attach | None,
) -> RunResult:
    model = build_initial_model(config)
    init_state = run_dir.start(_cpu_state(model))
    model.to(device)
    init_params = [p.detach().clone() for p in model.parameters()]
    splits = {
        "train": (data.train_x.to(device), data.train_y.to(device)),
        "test": (data.test_x.to(device), data.test_y.to(device)),
    }
    train_x, train_y = splits["train"]
    eval_bs = max(config.batch_size, EVAL_BATCH_SIZE)

    def record(epoch: int, phase: Phase, grad_evals: int, seconds: float) -> dict[str, Any]:
        metrics = epoch_metrics(
            model,
            splits,
            init_params,
            batch_size=eval_bs,
            device=device,
            precision=config.precision,
        )
        head = {"epoch": epoch, "optimizer": phase.optimizer, "lr": config.phase_lr(phase)}
        return {**head, **metrics, "grad_evals": grad_evals, "seconds": seconds}

    phases = config.phases

    def build(phase: Phase) -> torch.optim.Optimizer:
        optimizer = _build_optimizer(model, config, phase)
        if attach is not None:
            attach(model, optimizer)
        return optimizer

    def restore(ckpt: dict[str, Any]) -> tuple[int, torch.optim.Optimizer, list[dict[str, Any]]]:
        model.load_state_dict(ckpt["model"])
        phase = int(ckpt["phase"])
        optimizer = _build_optimizer(model, config, phases[phase])
        optimizer.load_state_dict(ckpt["optimizer"])
        history: list[dict[str, Any]] = json.loads(ckpt["history"])
        if history[-1]["epoch"] != ckpt["epoch"] or phase != phase_index(phases, ckpt["epoch"]):
            raise ValueError(f"history ends at epoch {history[-1]['epoch']}, not {ckpt['epoch']}")
        return phase, optimizer, history

    resumed = run_dir.resume(restore)
    if resumed is not None:
        current, optimizer, history = resumed
    else:
        model.load_state_dict(init_state)  # undo what a rejected checkpoint loaded
        current = 0
        optimizer = build(phases[0])
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
                optimizer = build(phases[index])
            tic = time.perf_counter()
            steps = train_epoch(model, optimizer, config, epoch, device, train_x, train_y)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            seconds = time.perf_counter() - tic
            refresh_bn_statistics(
                model,
                train_x[:BN_REFRESH_EXAMPLES],
                batch_size=eval_bs,
                device=device,
                precision=config.precision,
            )
            grad_evals += steps * evaluations_per_step(optimizer)
            history.append(record(epoch, phases[index], grad_evals, seconds))
            run_dir.save_checkpoint(
                {
                    "model": _cpu_state(model),
                    "optimizer": optimizer.state_dict(),
                    "epoch": epoch,
                    "phase": current,
                    "history": json.dumps(history),
                }
            )
            run_dir.write_history(history, device)
            bar.update(1)
            last = history[-1]
            bar.set_postfix(loss=f"{last['train_loss']:.3g}", acc=f"{last['test_acc']:.3f}")
    finally:
        bar.close()
    final_state = _cpu_state(model)
    run_dir.finish(final_state, history, device)
    return RunResult(config, history, init_state, final_state, run_dir.path)
