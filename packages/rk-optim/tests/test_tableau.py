"""ButcherTableau validation and order computation."""

import dataclasses

import pytest

from rk_optim import EULER, HEUN, MIDPOINT, RALSTON, RK3, RK4, ButcherTableau


@pytest.mark.parametrize(
    ("tableau", "order", "stages"),
    [(EULER, 1, 1), (MIDPOINT, 2, 2), (HEUN, 2, 2), (RALSTON, 2, 2), (RK3, 3, 3), (RK4, 4, 4)],
)
def test_named_tableaux(tableau: ButcherTableau, order: int, stages: int) -> None:
    assert tableau.order == order
    assert tableau.stages == stages


def test_paper_table_3_coefficients() -> None:
    # (a1, a2, q1) of Im, Tao & Branson, Table 3: b = (a1, a2), a_21 = q1
    for t, (a1, a2, q1) in [
        (MIDPOINT, (0, 1, 0.5)),
        (HEUN, (0.5, 0.5, 1)),
        (RALSTON, (1 / 3, 2 / 3, 0.75)),
    ]:
        assert t.b == (a1, a2)
        assert t.A[1][0] == q1


def test_order_stops_at_first_failed_condition() -> None:
    # two stages, consistent but Σ b c = 0.25 ≠ 1/2: first order only
    t = ButcherTableau(A=((0, 0), (0.5, 0)), b=(0.5, 0.5), c=(0, 0.5))
    assert t.order == 1
    # RK4 weights with RK3-style nodes break the fourth-order conditions only
    t3 = ButcherTableau(
        A=((0, 0, 0), (1, 0, 0), (0.25, 0.25, 0)), b=(1 / 6, 1 / 6, 2 / 3), c=(0, 1, 0.5)
    )
    assert t3.order == 3


def test_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        HEUN.b = (1.0, 0.0)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"A": ((0, 1), (1, 0)), "b": (0.5, 0.5), "c": (1, 1)}, r"not explicit, A\[0\]\[1\]"),
        ({"A": ((0, 0), (1, 0)), "b": (0.5, 0.5), "c": (0, 0.5)}, r"c\[1\] = 0.5 must equal"),
        ({"A": ((0, 0), (1, 0)), "b": (0.5, 0.6), "c": (0, 1)}, r"inconsistent, sum\(b\)"),
        ({"A": ((0,),), "b": (0.5, 0.5), "c": (0,)}, "must be 2x2"),
        ({"A": (), "b": (), "c": ()}, "at least one stage"),
        ({"A": ((0, 0), (0, 0)), "b": (1.0, 0.0), "c": (0, 0)}, r"stage 1 is dead"),
        ({"A": ((0.0,),), "b": (float("nan"),), "c": (0,)}, "finite"),
    ],
)
def test_validation_errors(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ButcherTableau(name="bad", **kwargs)
