"""Shared test helpers (fixtures: the tests run with ``--import-mode=importlib``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

Table1Numbers = Callable[[list[float], float], dict[str, Any]]


def _table1_numbers(barrier_ratios: list[float], disagreement_ratio: float) -> dict[str, Any]:
    """Table 1 numbers (``table1.Numbers``) with one pair per barrier ratio."""
    pair = {
        "a": "sgd",
        "b": "adam",
        "init_loss": 8.0,
        "final_losses": [3.0, 3.1],
        "barrier": 1.0,
        "rms": 0.3,
        "disagreement": 0.4,
        "test_errors": [0.7, 0.7],
        "disagreement_ratio": disagreement_ratio,
    }
    return {
        "optimizers": ["sgd", "adam", "heun"],
        "failed": [],
        "pairs": [{**pair, "barrier_ratio": r} for r in barrier_ratios],
    }


@pytest.fixture
def table1_numbers() -> Table1Numbers:
    return _table1_numbers
