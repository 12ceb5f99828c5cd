"""Decision rules: each turns measured numbers into a verdict and renders its own text from the
thresholds it uses, so the report's wording can never disagree with the code.

``Share``      "for every case": reproduced when ≥ ``high`` of the cases meet the condition, not
               reproduced below ``low``, inconclusive in between (and with no case at all).
``Larger``     "A > B" over seeds: d = mean(A) − mean(B), se = √(var_A/n_A + var_B/n_B) (sample
               variances); reproduced when d > z·se, not reproduced when d ≤ 0, else inconclusive.
``Threshold``  one number against two limits (reproduced at or beyond ``good``, not reproduced
               strictly beyond ``bad``, inconclusive between; non-finite → inconclusive).
``Within``     one number inside a band [low, high] (a quoted value "within 2×").
``Conditions`` several named yes/no conditions: all hold → reproduced, none → not reproduced.
``AllOf``      several rules that must all hold: the worst of their verdicts.
``Each``       one rule applied to several cases that must all hold: the worst verdict.
``Controlled`` a rule that counts only when its control holds (else inconclusive).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

REPRODUCED = "reproduced"
NOT_REPRODUCED = "not reproduced"
INCONCLUSIVE = "inconclusive"
NOT_RUN = "not run"
VERDICTS = (REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE, NOT_RUN)

BARRIER = 0.05
"""A path between two minima "rises sharply" when its barrier is at least this share of the
init → final loss drop L(θ_0) − max L(finals)."""


class Rule(Protocol):
    """A verdict from measured evidence, and the rule's own description."""

    @property
    def text(self) -> str: ...

    def decide(self, evidence: Any) -> str: ...


def worst(verdicts: Iterable[str]) -> str:
    """Combine verdicts that must all hold (no verdict at all: inconclusive)."""
    found = set(verdicts)
    for v in (NOT_REPRODUCED, INCONCLUSIVE):
        if v in found:
            return v
    return REPRODUCED if found else INCONCLUSIVE


def _pct(x: float) -> str:
    return f"{x:.0%}"


@dataclass(frozen=True)
class Share:
    """Share of cases meeting ``condition`` (evidence: one bool per case)."""

    condition: str
    high: float = 0.9
    low: float = 0.5

    @property
    def text(self) -> str:
        return (
            f"{self.condition}, per case: reproduced if ≥ {_pct(self.high)} of cases, "
            f"not reproduced if < {_pct(self.low)}, else inconclusive"
        )

    def decide(self, evidence: Sequence[bool]) -> str:
        if not evidence:
            return INCONCLUSIVE
        frac = sum(bool(f) for f in evidence) / len(evidence)
        if frac >= self.high:
            return REPRODUCED
        return NOT_REPRODUCED if frac < self.low else INCONCLUSIVE


def finite(values: Iterable[float]) -> np.ndarray:
    """The finite values as a float array."""
    return np.asarray([float(v) for v in values if math.isfinite(float(v))], dtype=float)


@dataclass(frozen=True)
class Larger:
    """``a`` larger than ``b`` over seeds (evidence: the pair of samples ``(a, b)``)."""

    a: str
    b: str
    z: float = 2.0

    @property
    def text(self) -> str:
        return (
            f"{self.a} larger than {self.b}: d = mean difference, se = its standard error; "
            f"reproduced if d > {self.z:g}·se, not reproduced if d ≤ 0, else inconclusive"
        )

    def decide(self, evidence: tuple[Sequence[float], Sequence[float]]) -> str:
        xa, xb = finite(evidence[0]), finite(evidence[1])
        if xa.size == 0 or xb.size == 0:
            return INCONCLUSIVE
        var_a = xa.var(ddof=1) / xa.size if xa.size > 1 else 0.0
        var_b = xb.var(ddof=1) / xb.size if xb.size > 1 else 0.0
        d, se = float(xa.mean() - xb.mean()), math.sqrt(var_a + var_b)
        if d > self.z * se:
            return REPRODUCED
        return NOT_REPRODUCED if d <= 0 else INCONCLUSIVE


@dataclass(frozen=True)
class Threshold:
    """``quantity`` reproduced at or beyond ``good``, not reproduced strictly beyond ``bad``
    (higher is better when ``good > bad``)."""

    quantity: str
    good: float
    bad: float

    @property
    def text(self) -> str:
        up = self.good > self.bad
        ge, lt = ("≥", "<") if up else ("≤", ">")
        return (
            f"{self.quantity} {ge} {self.good:.3g} reproduced, {lt} {self.bad:.3g} not "
            "reproduced, else inconclusive"
        )

    def decide(self, evidence: float) -> str:
        value = float(evidence)
        if not math.isfinite(value):
            return INCONCLUSIVE
        sign = 1.0 if self.good > self.bad else -1.0
        if sign * value >= sign * self.good:
            return REPRODUCED
        return NOT_REPRODUCED if sign * value < sign * self.bad else INCONCLUSIVE


@dataclass(frozen=True)
class Within:
    """``quantity`` inside [low, high] (evidence: the value); outside is not reproduced."""

    quantity: str
    low: float
    high: float

    @property
    def text(self) -> str:
        return f"{self.quantity} ∈ [{self.low:.3g}, {self.high:.3g}]"

    def decide(self, evidence: float) -> str:
        value = float(evidence)
        if not math.isfinite(value):
            return INCONCLUSIVE
        return REPRODUCED if self.low <= value <= self.high else NOT_REPRODUCED


@dataclass(frozen=True)
class Conditions:
    """Named conditions (evidence: one bool each): all → reproduced, none → not reproduced."""

    names: tuple[str, ...]

    @property
    def text(self) -> str:
        return (
            f"{' AND '.join(self.names)}: reproduced if all hold, not reproduced if none, "
            "else inconclusive"
        )

    def decide(self, evidence: Sequence[bool]) -> str:
        if len(evidence) != len(self.names):
            raise ValueError(f"{len(self.names)} conditions need {len(self.names)} flags")
        hits = sum(bool(f) for f in evidence)
        if hits == len(self.names):
            return REPRODUCED
        return NOT_REPRODUCED if hits == 0 else INCONCLUSIVE


@dataclass(frozen=True)
class AllOf:
    """Every part must hold (evidence: one piece per part); the worst verdict."""

    parts: tuple[Rule, ...]

    @property
    def text(self) -> str:
        return "; AND ".join(f"({p.text})" for p in self.parts) + " — the worst verdict counts"

    def decide(self, evidence: Sequence[Any]) -> str:
        if len(evidence) != len(self.parts):
            raise ValueError(f"{len(self.parts)} rules need {len(self.parts)} pieces of evidence")
        return worst(p.decide(e) for p, e in zip(self.parts, evidence, strict=True))


@dataclass(frozen=True)
class Each:
    """One rule applied to several cases that must all hold (evidence: a mapping case →
    evidence); no case at all is inconclusive."""

    rule: Rule
    cases: str

    @property
    def text(self) -> str:
        return f"for each {self.cases}: {self.rule.text} — the worst verdict counts"

    def decide(self, evidence: dict[str, Any]) -> str:
        return worst(self.rule.decide(e) for e in evidence.values())


@dataclass(frozen=True)
class Controlled:
    """``rule`` counts only when the control ``condition`` holds (evidence: ``(control holds,
    evidence for rule)``); a failed control makes the claim inconclusive."""

    rule: Rule
    condition: str

    @property
    def text(self) -> str:
        return f"{self.rule.text}; only if {self.condition}, else inconclusive"

    def decide(self, evidence: tuple[bool, Any]) -> str:
        holds, inner = evidence
        return self.rule.decide(inner) if holds else INCONCLUSIVE
