"""The paper's figures and tables, one module each, in the paper's order.

Every module has ``NAME``, ``TITLE`` and ``run(ctx) -> dict | None``: it trains (or loads) its
runs from the shared run directory, probes them with surface_probe, writes its figures and
``OUT/<NAME>/result.json`` and returns that record (None with ``ctx.only_train``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import fig2_3, fig4, fig5_6, fig7, fig9, fig10, fig11, table1, table2_fig8
from .context import Context, load_result


@dataclass(frozen=True)
class Experiment:
    name: str
    title: str
    run: Callable[[Context], dict[str, Any] | None]


EXPERIMENTS: dict[str, Experiment] = {
    m.NAME: Experiment(m.NAME, m.TITLE, m.run)
    for m in (table1, fig2_3, fig4, fig5_6, fig7, table2_fig8, fig9, fig10, fig11)
}
"""Every experiment by name, in the paper's order."""


def check_experiment(name: str) -> None:
    """Raise ``ValueError`` listing the valid names unless ``name`` is an experiment or "all"."""
    if name != "all" and name not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {name!r}; experiments: all, {', '.join(EXPERIMENTS)}")


def run_experiment(ctx: Context, name: str) -> dict[str, Any] | None:
    """Run experiment ``name`` unless its result already exists (then it is loaded)."""
    check_experiment(name)
    done = load_result(ctx.out_dir, name)
    if done is not None and not ctx.only_train:
        ctx.log(f"[{name}] already done, skipped")
        return done
    tic = time.perf_counter()
    ctx.log(f"[{name}] {EXPERIMENTS[name].title}")
    result = EXPERIMENTS[name].run(ctx)
    ctx.log(f"[{name}] done in {time.perf_counter() - tic:.1f} s")
    return result


__all__ = ["EXPERIMENTS", "Context", "Experiment", "check_experiment", "run_experiment"]
