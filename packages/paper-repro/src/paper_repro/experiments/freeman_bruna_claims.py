"""The claims of :mod:`paper_repro.experiments.freeman_bruna` (Dynamic String Sampling down a
falling ladder of loss levels), their rules, controls and thresholds, judged on its ``Numbers``.

FB-connected: every pair stays connected at every rung down to a low level; FB-curvier: the
string's normalized geodesic length grows down the ladder. Both are judged only when the controls
hold (the straight line returned above its height, dense re-sampling below the level, a minimum
and its untrained init not connected).
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from ..claims import Claim, Record
from ..rules import Controlled, Share

NAME = "freeman_bruna"
ABOVE_LINE = 1.05
DENSER = 4
DENSE_SLACK = 0.25
LOW = 0.25
"""A level is "low" when L0 ≤ (1 + LOW) · L_end."""
GROWTH = 0.01
MONOTONE_TOL = 1e-3


def case_name(case: Record) -> str:
    """A case's label: its pair, and "aligned" for the repeat after permutation alignment."""
    return str(case["pair"]) + (" aligned" if case["aligned"] else "")


def _distinct(n: Record) -> list[Record]:
    """The cases that count: every raw pair, and its aligned repeat only when alignment moved a
    unit (an identity permutation repeats the raw case, which must not count twice)."""
    return [c for c in n["pairs"] if not c["aligned"] or c["permuted"]]


def _controls(n: Record) -> tuple[bool, str]:
    """Whether every control holds, and what they measured."""
    cases = n["pairs"]
    line_ok = all(
        c["above_line"]["connected"]
        and c["above_line"]["beads"] == 2
        and c["above_line"]["normalized_length"] == 1.0
        for c in cases
    )
    dense_ok = all(
        r["dense_height"] <= r["level"] + DENSE_SLACK * (r["level"] - max(c["end_losses"]))
        for c in cases
        for r in c["rungs"]
        if r["connected"]
    )
    untrained_ok = bool(n["untrained"]) and not any(u["connected"] for u in n["untrained"])
    text = (
        f"controls: straight line returned above its height {'yes' if line_ok else 'NO'}; "
        f"dense re-sampling within the slack {'yes' if dense_ok else 'NO'}; minimum–untrained "
        f"init not connected {'yes' if untrained_ok else 'NO'}"
    )
    return line_ok and dense_ok and untrained_ok, text


def _connected(n: Record) -> tuple[Any, str]:
    reaches = bool(n["margins"]) and min(n["margins"]) <= LOW
    flags = [all(r["connected"] for r in c["rungs"]) for c in _distinct(n)]
    parts = [
        f"{case_name(c)} {sum(r['connected'] for r in c['rungs'])}/{len(c['rungs'])}"
        for c in _distinct(n)
    ]
    holds, controls = _controls(n)
    ours = (
        f"rungs connected (ladder L0/L_end = {', '.join(f'{1 + m:g}' for m in n['margins'])}): "
        f"{'; '.join(parts)}; {controls}"
    )
    return (holds, flags if reaches else []), ours


def _curvier(n: Record) -> tuple[Any, str]:
    flags, parts = [], []
    for c in _distinct(n):
        rungs = c["rungs"]
        lengths = [float(r["normalized_length"]) for r in rungs]
        parts.append(f"{case_name(c)} " + "→".join(f"{x:.3f}" for x in lengths))
        if not all(r["connected"] for r in rungs) or c["line_height"] <= rungs[-1]["level"]:
            continue  # a broken ladder, or a straight line already below the lowest level
        monotone = all(b >= a - MONOTONE_TOL for a, b in pairwise(lengths))
        flags.append(monotone and lengths[-1] >= (1.0 + GROWTH) * lengths[0])
    holds, controls = _controls(n)
    return (holds, flags), f"normalized length down the ladder: {'; '.join(parts)}; {controls}"


_CONTROLS = (
    f"DSS at {ABOVE_LINE:g}× the straight line's height returns the straight line (no bead, "
    f"length 1) on every pair; every connected string re-sampled {DENSER}× more finely stays "
    f"below L0 + {DENSE_SLACK:g}·(L0 − L_end); a minimum and its own untrained init are not "
    "connected at the lowest rung"
)
_CONTROL_TEXT = (
    "the straight line between the same minima (length 1) and a minimum paired with its untrained "
    "init; pairs with a failed run left out"
)

CLAIMS = (
    Claim(
        "FB-connected",
        NAME,
        "Freeman & Bruna: the level sets stay connected throughout the learning phase — pairs of "
        "minima are joined by a string below the level down to low loss.",
        Controlled(
            Share(
                f"connected at every rung of the ladder L0 = (1 + m)·max(L_a, L_b), which must "
                f"reach a low level m ≤ {LOW:g}, per pair (raw, and aligned when alignment "
                "moved a unit)"
            ),
            _CONTROLS,
        ),
        _CONTROL_TEXT,
        _connected,
    ),
    Claim(
        "FB-curvier",
        NAME,
        "Freeman & Bruna: the level sets become more curvy as the level falls — the connecting "
        "string grows longer relative to the straight line.",
        Controlled(
            Share(
                f"normalized geodesic length non-decreasing down the ladder (tolerance "
                f"{MONOTONE_TOL:g}) and ≥ (1 + {GROWTH:g})× its top-rung value at the lowest "
                "rung, per pair connected at every rung whose straight line rises above the "
                "lowest level"
            ),
            _CONTROLS,
        ),
        _CONTROL_TEXT,
        _curvier,
    ),
)
