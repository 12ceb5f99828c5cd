"""Explicit Butcher tableaux and their order conditions.

References: Butcher (1963); Hairer, Nørsett & Wanner (1987).

An explicit s-stage Runge–Kutta method for dθ/dt = f(θ) with step h is

    k_i = f(θ + h Σ_{j<i} a_ij k_j),    θ ← θ + h Σ_i b_i k_i,    c_i = Σ_j a_ij.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["EULER", "HEUN", "MIDPOINT", "RALSTON", "RK3", "RK4", "ButcherTableau"]

_TOL = 1e-12


def _close(x: float, y: float) -> bool:
    return math.isclose(x, y, rel_tol=_TOL, abs_tol=_TOL)


@dataclass(frozen=True)
class ButcherTableau:
    """An explicit Runge–Kutta tableau (A strictly lower triangular, weights b, nodes c).

    Validated at construction: square A of size s = len(b) = len(c), a_ij = 0 for j ≥ i
    (explicit), c_i = Σ_j a_ij, consistency Σ b = 1, and no dead stage (a stage whose weight b_i
    is 0 and whose gradient no later stage uses would be evaluated for nothing).
    ``order`` is the largest p ≤ 4 whose order conditions all hold.
    """

    A: tuple[tuple[float, ...], ...]
    b: tuple[float, ...]
    c: tuple[float, ...]
    name: str = field(default="custom")

    def __post_init__(self) -> None:
        A = tuple(tuple(float(x) for x in row) for row in self.A)
        b = tuple(float(x) for x in self.b)
        c = tuple(float(x) for x in self.c)
        object.__setattr__(self, "A", A)
        object.__setattr__(self, "b", b)
        object.__setattr__(self, "c", c)
        s = len(b)
        where = f"ButcherTableau {self.name!r}"
        if s == 0:
            raise ValueError(f"{where}: b is empty; a tableau needs at least one stage")
        if len(c) != s or len(A) != s or any(len(row) != s for row in A):
            raise ValueError(
                f"{where}: A must be {s}x{s} and c of length {s} to match b "
                f"(got A rows {[len(r) for r in A]}, len(c)={len(c)})"
            )
        if not all(math.isfinite(x) for x in (*b, *c, *(v for r in A for v in r))):
            raise ValueError(f"{where}: entries must be finite")
        for i in range(s):
            for j in range(i, s):
                if A[i][j] != 0.0:
                    raise ValueError(
                        f"{where}: not explicit, A[{i}][{j}] = {A[i][j]} must be 0 (j >= i)"
                    )
            if not _close(c[i], math.fsum(A[i])):
                raise ValueError(
                    f"{where}: c[{i}] = {c[i]} must equal the row sum of A ({math.fsum(A[i])})"
                )
        if not _close(math.fsum(b), 1.0):
            raise ValueError(f"{where}: inconsistent, sum(b) = {math.fsum(b)} must be 1")
        for j in range(s):
            if b[j] == 0.0 and all(A[i][j] == 0.0 for i in range(j + 1, s)):
                raise ValueError(
                    f"{where}: stage {j} is dead (b[{j}] = 0 and no later stage uses it)"
                )

    @property
    def stages(self) -> int:
        """Number of stages s (gradient evaluations per step)."""
        return len(self.b)

    @property
    def order(self) -> int:
        """Largest p ≤ 4 such that the order conditions of orders 1..p hold.

        p=1: Σb_i = 1.  p=2: Σb_i c_i = 1/2.  p=3: Σb_i c_i² = 1/3, Σb_i a_ij c_j = 1/6.
        p=4: Σb_i c_i³ = 1/4, Σb_i c_i a_ij c_j = 1/8, Σb_i a_ij c_j² = 1/12,
        Σb_i a_ij a_jk c_k = 1/24.
        """
        A, b, c, r = self.A, self.b, self.c, range(self.stages)
        ac = [math.fsum(A[i][j] * c[j] for j in r) for i in r]
        ac2 = [math.fsum(A[i][j] * c[j] ** 2 for j in r) for i in r]
        aac = [math.fsum(A[i][j] * ac[j] for j in r) for i in r]
        conditions: list[list[tuple[Sequence[float], float]]] = [
            [(b, 1.0)],
            [([b[i] * c[i] for i in r], 1 / 2)],
            [([b[i] * c[i] ** 2 for i in r], 1 / 3), ([b[i] * ac[i] for i in r], 1 / 6)],
            [
                ([b[i] * c[i] ** 3 for i in r], 1 / 4),
                ([b[i] * c[i] * ac[i] for i in r], 1 / 8),
                ([b[i] * ac2[i] for i in r], 1 / 12),
                ([b[i] * aac[i] for i in r], 1 / 24),
            ],
        ]
        order = 0
        for level in conditions:
            if not all(_close(math.fsum(terms), target) for terms, target in level):
                break
            order += 1
        return order


EULER = ButcherTableau(A=((0.0,),), b=(1.0,), c=(0.0,), name="euler")
MIDPOINT = ButcherTableau(A=((0.0, 0.0), (0.5, 0.0)), b=(0.0, 1.0), c=(0.0, 0.5), name="midpoint")
HEUN = ButcherTableau(A=((0.0, 0.0), (1.0, 0.0)), b=(0.5, 0.5), c=(0.0, 1.0), name="heun")
RALSTON = ButcherTableau(
    A=((0.0, 0.0), (0.75, 0.0)), b=(1 / 3, 2 / 3), c=(0.0, 0.75), name="ralston"
)
RK3 = ButcherTableau(
    A=((0.0, 0.0, 0.0), (0.5, 0.0, 0.0), (-1.0, 2.0, 0.0)),
    b=(1 / 6, 2 / 3, 1 / 6),
    c=(0.0, 0.5, 1.0),
    name="rk3",
)
RK4 = ButcherTableau(
    A=((0.0, 0.0, 0.0, 0.0), (0.5, 0.0, 0.0, 0.0), (0.0, 0.5, 0.0, 0.0), (0.0, 0.0, 1.0, 0.0)),
    b=(1 / 6, 1 / 3, 1 / 3, 1 / 6),
    c=(0.0, 0.5, 0.5, 1.0),
    name="rk4",
)
