"""Run plans shared by several experiments (each run is trained once, then loaded)."""

from __future__ import annotations

from collections.abc import Sequence

from ..train import TrainConfig
from .context import Context


def restart_plan(
    ctx: Context, role: str, optimizers: Sequence[str]
) -> dict[str, list[TrainConfig]]:
    """Every optimizer of ``optimizers`` from seeds ``0 … seeds-1`` (seed s: same θ_0 and
    minibatch order for every optimizer)."""
    return {
        name: [ctx.config(role, name, seed=s) for s in range(ctx.preset.seeds)]
        for name in optimizers
    }


def switch_label(first: str, second: str, k: int, epochs: int) -> str:
    """The paper's name of a switched run, e.g. ``S3-A9`` (SGD for 3 epochs, then Adam)."""
    return f"{first[0].upper()}{k}-{second[0].upper()}{epochs - k}"
