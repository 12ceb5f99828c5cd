"""Learning rates chosen as the paper chose them (§3.4): from a grid, per setup and optimizer.

For every (role, optimizer) a run is needed for, one pilot run per rate of the preset's grid
(``preset.lr_grid``: {0.2, 0.1, 0.05, 0.01} for the SGD family, {0.002, 0.001, 0.0005, 0.0001}
for adaptive methods, doubled for the Runge–Kutta variants) trains the default init of seed
``PILOT_SEED`` for ``pilot_fraction`` of the role's epochs. The rate with the lowest held-out
(test-split) loss among the pilots that trained is chosen (see :mod:`paper_repro.screening`); when
every pilot failed, the lowest finite held-out loss decides, and the smallest rate when none is
finite. Pilots are ordinary runs: cached in the shared run directory and resumable.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from .presets import Preset
from .screening import failure
from .train import RunResult, TrainConfig

PILOT_SEED = 0


@dataclass(frozen=True)
class PilotRow:
    """One pilot run: the rate tried and what it reached."""

    role: str
    optimizer: str
    lr: float
    epochs: int
    test_loss: float
    test_acc: float
    train_acc: float
    failure: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def pilot_configs(preset: Preset, role: str, optimizer: str) -> list[TrainConfig]:
    """The pilot runs of ``optimizer`` on ``role``, one per rate of its grid."""
    epochs, batch_size = preset.budget(role)
    short = max(1, round(preset.pilot_fraction * epochs))
    return [
        preset.config(role, optimizer, seed=PILOT_SEED, lr=lr, epochs=short, batch_size=batch_size)
        for lr in preset.lr_grid[optimizer]
    ]


def pilot_row(role: str, run: RunResult, chance: float) -> PilotRow:
    """The table row of a finished pilot run."""
    last = run.history[-1]
    assert run.config.lr is not None
    return PilotRow(
        role=role,
        optimizer=run.config.schedule,
        lr=run.config.lr,
        epochs=run.config.epochs,
        test_loss=float(last["test_loss"]),
        test_acc=float(last["test_acc"]),
        train_acc=float(last["train_acc"]),
        failure=failure(run.history, chance),
    )


def grid_end(rates: Sequence[float], chosen: float) -> str | None:
    """Which end of a grid of two or more ``rates`` ``chosen`` is, "largest" or "smallest" (a
    better rate may then lie beyond the grid); None when it lies inside."""
    if len(set(rates)) < 2:
        return None
    if chosen == max(rates):
        return "largest"
    return "smallest" if chosen == min(rates) else None


def choose(rows: Sequence[PilotRow]) -> float:
    """The chosen rate (see the module docstring)."""
    if not rows:
        raise ValueError("choose() needs at least one pilot row")
    trained = [r for r in rows if r.failure is None]
    candidates = trained or [r for r in rows if math.isfinite(r.test_loss)]
    if not candidates:
        return min(r.lr for r in rows)
    return min(candidates, key=lambda r: (r.test_loss, r.lr)).lr
