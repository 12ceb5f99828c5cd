"""Golden-section line search: bracket a minimum of φ(α) = f(x + α d) on α ≥ 0, then shrink the
bracket by the golden ratio to a relative tolerance, within a bounded number of evaluations.

Bracketing (golden expansion, no parabolic extrapolation)
    Start from a = 0 (φ(0) known) and b = ``initial_step``. If φ(b) ≥ φ(0) the minimum lies in
    [0, b] (d is a descent direction and φ is assumed unimodal there). Otherwise step out,
    c = b + G (b − a) with G = (1 + √5)/2, shifting (a, b) ← (b, c) while φ keeps falling; the
    first c with φ(c) ≥ φ(b) closes the bracket [a, c]. Because the expansion factor is G, the
    last b sits exactly at the lower golden point of [a, c] and its value is reused.

Reduction
    With r = 1/G = (√5 − 1)/2, keep two interior points x₁ = a + (1 − r)(c − a) < x₂ = a + r(c − a);
    if φ(x₁) ≤ φ(x₂) the minimum of a unimodal φ is in [a, x₂], else in [x₁, c], and one of the old
    points is the new bracket's other golden point: one evaluation per iteration, the width
    shrinks by r each time. Stop when c − a ≤ ``tol`` · c (the step is known to relative
    precision ``tol``) or when ``max_evals`` evaluations are spent.

The result is the evaluated point of lowest φ (α = 0 when nothing lower than φ(0) was found). On a
quadratic along a descent direction φ is a parabola, the bracket always contains its minimiser
α* = −φ'(0)/φ''(0), and the returned step is within ``tol`` · c of it: the search is exact to
tolerance. Non-finite values count as +∞ (never chosen).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from ._validate import check_int

GOLDEN = (1.0 + math.sqrt(5.0)) / 2.0
_R = GOLDEN - 1.0  # = 1/G ≈ 0.618


@dataclass(frozen=True)
class LineSearchResult:
    """Outcome of one search: the chosen ``step`` and its ``value``, the number of ``evaluations``
    of φ spent (φ(0) excluded), whether a minimum was ``bracketed`` and whether the bracket
    reached the tolerance (``converged``) before the budget ran out."""

    step: float
    value: float
    evaluations: int
    bracketed: bool
    converged: bool


class _Budget:
    """φ with an evaluation counter and a record of the best point seen."""

    def __init__(self, phi: Callable[[float], float], value_at_zero: float, max_evals: int):
        self.phi, self.max_evals, self.evaluations = phi, max_evals, 0
        self.best_step, self.best_value = 0.0, _finite_or_inf(value_at_zero)

    @property
    def exhausted(self) -> bool:
        return self.evaluations >= self.max_evals

    def __call__(self, step: float) -> float:
        self.evaluations += 1
        value = _finite_or_inf(float(self.phi(step)))
        if value < self.best_value:
            self.best_step, self.best_value = step, value
        return value


def _finite_or_inf(value: float) -> float:
    return value if math.isfinite(value) else math.inf


def golden_section_search(
    phi: Callable[[float], float],
    *,
    value_at_zero: float,
    initial_step: float,
    tol: float = 1e-4,
    max_evals: int = 50,
) -> LineSearchResult:
    """Minimise ``phi`` over α ≥ 0 by bracketing and golden-section reduction (module docstring).

    ``value_at_zero`` is φ(0), already known to the caller; ``phi`` is called at most
    ``max_evals`` times (≥ 2), never at 0.
    """
    if not (math.isfinite(initial_step) and initial_step > 0):
        raise ValueError(f"initial_step must be a finite positive number, got {initial_step!r}")
    if not (math.isfinite(tol) and 0 < tol < 1):
        raise ValueError(f"tol must be a number in (0, 1), got {tol!r}")
    check_int("max_evals", max_evals, minimum=2)
    f = _Budget(phi, value_at_zero, max_evals)
    a, fa = 0.0, f.best_value
    b = initial_step
    fb = f(b)
    lower: tuple[float, float] | None = None  # a known lower golden point of the bracket
    if fb >= fa:
        c = b
    else:
        while True:
            if f.exhausted:
                return _result(f, bracketed=False, converged=False)
            c = b + GOLDEN * (b - a)
            fc = f(c)
            if fc >= fb:
                lower = (b, fb)
                break
            a, fa, b, fb = b, fb, c, fc
    converged = _reduce(f, a, c, lower, tol)
    return _result(f, bracketed=True, converged=converged)


def _reduce(f: _Budget, a: float, c: float, lower: tuple[float, float] | None, tol: float) -> bool:
    """Golden-section reduction of the bracket [a, c]; True when it reached the tolerance."""
    if lower is None:
        if f.exhausted:
            return c - a <= tol * c
        x1 = a + (1.0 - _R) * (c - a)
        lower = (x1, f(x1))
    x1, f1 = lower
    if f.exhausted:
        return c - a <= tol * c
    x2 = a + _R * (c - a)
    f2 = f(x2)
    while c - a > tol * c:
        if f.exhausted:
            return False
        if f1 <= f2:
            c, x2, f2 = x2, x1, f1
            x1 = a + (1.0 - _R) * (c - a)
            f1 = f(x1)
        else:
            a, x1, f1 = x1, x2, f2
            x2 = a + _R * (c - a)
            f2 = f(x2)
    return True


def _result(f: _Budget, *, bracketed: bool, converged: bool) -> LineSearchResult:
    return LineSearchResult(f.best_step, f.best_value, f.evaluations, bracketed, converged)
