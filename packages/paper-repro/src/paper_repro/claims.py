"""A claim of the paper, the control it is judged against, and the rule that decides it.

Each experiment module declares the numbers it saves (a ``TypedDict`` named ``Numbers``) and its
``CLAIMS``; a claim's ``measure`` extracts the rule's evidence (and a description of our numbers)
from those numbers, and its :mod:`~paper_repro.rules` object decides — the rule text shown in the
report is rendered by that same object. Numbers that lack a declared key or hold the wrong type
raise :class:`NumbersError` naming the claim and the key: a broken result is an error, never a
verdict.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .rules import NOT_RUN, Rule

Record = Mapping[str, Any]
"""An experiment's saved numbers as the claims read them."""


class NumbersError(ValueError):
    """An experiment's saved numbers do not hold what a claim needs."""


@dataclass(frozen=True)
class Judgement:
    verdict: str
    ours: str


@dataclass(frozen=True)
class Claim:
    """One claim: where the paper makes it, the control it needs, and how it is decided.

    ``measure(numbers)`` returns ``(evidence for rule.decide, description of our numbers)``.
    """

    id: str
    experiment: str
    paper: str
    rule: Rule
    control: str
    measure: Callable[[Record], tuple[Any, str]]

    @property
    def rule_text(self) -> str:
        """The rule and its control, as the report prints them."""
        return f"{self.rule.text}. Control: {self.control}"


def check_numbers(claim_id: str, numbers: Record, schema: type) -> None:
    """Raise :class:`NumbersError` unless ``numbers`` has every key of the ``TypedDict``
    ``schema`` with a value of its declared (outer) type."""
    for key, hint in typing.get_type_hints(schema).items():
        if key not in numbers:
            raise NumbersError(f"claim {claim_id}: the numbers lack key {key!r}")
        outer = typing.get_origin(hint) or hint
        if outer is typing.Union or not isinstance(outer, type):
            continue
        expected: tuple[type, ...] = (int, float) if outer is float else (outer,)
        if outer is dict:
            expected = (Mapping,)
        value = numbers[key]
        if not isinstance(value, expected) or (outer is not bool and isinstance(value, bool)):
            raise NumbersError(
                f"claim {claim_id}: key {key!r} should be {outer.__name__}, "
                f"got {type(value).__name__}"
            )


def judge(claim: Claim, numbers: Record | None, schema: type) -> Judgement:
    """The claim's verdict from its experiment's numbers (``not run`` without numbers)."""
    if numbers is None:
        return Judgement(NOT_RUN, "experiment not run")
    check_numbers(claim.id, numbers, schema)
    try:
        evidence, ours = claim.measure(numbers)
    except KeyError as exc:
        raise NumbersError(f"claim {claim.id}: the numbers lack key {exc}") from None
    except (IndexError, TypeError) as exc:
        raise NumbersError(f"claim {claim.id}: malformed numbers ({exc})") from None
    return Judgement(claim.rule.decide(evidence), ours)
