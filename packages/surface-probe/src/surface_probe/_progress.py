"""Progress bars for long grids (tqdm), on by default only when stderr is a terminal."""

from __future__ import annotations

import sys

from tqdm.auto import tqdm

__all__ = ["progress_bar"]


def progress_bar(total: int, *, enabled: bool | None, desc: str, initial: int = 0) -> tqdm:
    """A tqdm bar over ``total`` points; ``enabled=None`` means ``sys.stderr.isatty()``."""
    on = sys.stderr.isatty() if enabled is None else bool(enabled)
    return tqdm(total=total, initial=initial, desc=desc, disable=not on, unit="pt", leave=False)
