"""Optimizer schedules: which optimizer (and learning rate) trains which epochs.

Grammar (comma-separated phases, in order)::

    phase := NAME ["@" LR] [":" EPOCHS]

``"sgd:100,adam:100"`` is the paper's S100-A100 (SGD for 100 epochs, then Adam for 100);
``"heun"`` trains every epoch with Heun; ``"sgd@0.1:50,adam@0.001:50"`` also fixes each phase's
learning rate. At most one phase may omit ``EPOCHS``; it takes the epochs the others leave. At every
phase switch the training loop builds a fresh optimizer (no state carried over), as in the paper.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .optimizers import check_optimizer_name


@dataclass(frozen=True)
class Phase:
    """``epochs`` consecutive epochs trained by ``optimizer`` at learning rate ``lr`` (``None``:
    the run's learning rate or the optimizer's default)."""

    optimizer: str
    epochs: int
    lr: float | None = None


def _parse_lr(text: str, phase: str) -> float:
    try:
        lr = float(text)
    except ValueError:
        raise ValueError(f"schedule phase {phase!r}: learning rate {text!r} is no number") from None
    if not (math.isfinite(lr) and lr > 0):
        raise ValueError(f"schedule phase {phase!r}: learning rate must be positive, got {lr}")
    return lr


def _parse_epochs(text: str, phase: str) -> int:
    if not text.strip().isdigit() or int(text) < 1:
        raise ValueError(f"schedule phase {phase!r}: epochs must be a positive int, got {text!r}")
    return int(text)


def parse_schedule(spec: str, epochs: int | None = None) -> list[Phase]:
    """Parse ``spec`` into phases; see the module docstring for the grammar.

    With ``epochs`` given, the phases must add up to it (one phase may omit its count and take the
    remainder); without it every phase must state its count.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"schedule must be a string like 'sgd:100,adam:100', got {spec!r}")
    parsed: list[tuple[str, int | None, float | None]] = []
    for raw in spec.split(","):
        phase = raw.strip()
        head, sep, count = phase.partition(":")
        name, at, lr_text = head.partition("@")
        name = name.strip()
        if not name:
            raise ValueError(f"schedule {spec!r}: empty optimizer name in phase {phase!r}")
        check_optimizer_name(name)
        lr = _parse_lr(lr_text, phase) if at else None
        n = _parse_epochs(count, phase) if sep else None
        parsed.append((name, n, lr))
    open_phases = [i for i, (_, n, _) in enumerate(parsed) if n is None]
    if len(open_phases) > 1:
        raise ValueError(f"schedule {spec!r}: only one phase may omit its epoch count")
    fixed = sum(n for _, n, _ in parsed if n is not None)
    if open_phases:
        if epochs is None:
            raise ValueError(
                f"schedule {spec!r} has a phase without an epoch count; pass epochs= to resolve it"
            )
        rest = epochs - fixed
        if rest < 1:
            raise ValueError(
                f"schedule {spec!r}: the other phases use {fixed} of {epochs} epochs, "
                "leaving none for the phase without a count"
            )
        parsed = [(name, rest if n is None else n, lr) for name, n, lr in parsed]
    elif epochs is not None and fixed != epochs:
        raise ValueError(f"schedule {spec!r} covers {fixed} epochs but the run has epochs={epochs}")
    return [Phase(name, int(n) if n is not None else 0, lr) for name, n, lr in parsed]


def phase_index(phases: list[Phase], epoch: int) -> int:
    """Index of the phase that trains ``epoch`` (1-based: epoch 1 is the first training epoch)."""
    end = 0
    for i, phase in enumerate(phases):
        end += phase.epochs
        if epoch <= end:
            return i
    raise ValueError(f"epoch {epoch} is past the schedule's {end} epochs")
