"""Every claim on synthetic numbers whose verdict is known: reproduced, not reproduced and
inconclusive; malformed numbers raise naming the claim and the key."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from paper_repro.claims import NumbersError
from paper_repro.experiments import CLAIMS, EXPERIMENTS, judge_claim
from paper_repro.rules import INCONCLUSIVE, NOT_REPRODUCED, NOT_RUN, REPRODUCED

R, NR, INC = REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE
LOW, HIGH = [1.0, 1.1, 0.9], [3.0, 3.1, 2.9]
NOISY = [1.0, 3.0, 0.5]


def pairs(*rows: tuple[float, float, float, float]) -> dict[str, Any]:
    keys = ("barrier_ratio", "rms", "disagreement", "disagreement_ratio")
    rows_ = [dict(zip(keys, r, strict=True)) for r in rows]
    return {"optimizers": [], "failed": [], "pairs": rows_}


def ratios(key: str, good: int, bad: int) -> list[dict[str, float]]:
    return [{key: 0.5}] * good + [{key: 0.0}] * bad


def fig2_3(two: tuple[int, int] = (10, 0), four: tuple[int, int] = (10, 0)) -> dict[str, Any]:
    return {
        "quad": [],
        "two_inits": ratios("barrier_ratio", *two),
        "four_optimizers": ratios("excess_ratio", *four),
    }


def fig4(
    train: dict[str, list[float]] | None = None, p_train: float = 1e-4, p_test: float = 0.5
) -> dict[str, Any]:
    train = train or {"sgd": LOW, "heun": [2.0] * 3, "adam": HIGH}
    return {
        "optimizers": list(train),
        "accuracy": {"train": train, "test": {o: [0.9] * 3 for o in train}},
        "summary": {},
        "anova_train_acc_optimizers_p": p_train,
        "anova_test_acc_optimizers_p": p_test,
        "anova_test_acc_inits_p": p_test,
    }


def fig5_6(adam: list[float], sgd: list[float], curve_ratio: float = 0.3) -> dict[str, Any]:
    per = {"adam": adam, "adam_rk2": adam, "sgd": sgd, "heun": sgd}
    return {
        "optimizers": list(per),
        "alphas": [],
        "init_final_loss": {},
        "final_final_loss": {},
        "alpha_width": per,
        "alpha_width_summary": {},
        "basin_radius": per,
        "basin_radius_summary": {},
        "curve_ratio": curve_ratio,
    }


def switch(barrier: float, control: float, closer: bool, dist: float, pure: float) -> Any:
    return {
        "from": "adam",
        "to": "sgd",
        "switch_epoch": 5,
        "barrier_ratio": barrier,
        "control_barrier_ratio": control,
        "closer_to_new": closer,
        "dist_change": dist,
        "pure_dist_change": pure,
    }


def fig7(*records: dict[str, Any]) -> dict[str, Any]:
    return {
        "switch_pair": ["sgd", "adam"],
        "epochs": 20,
        "window": 2,
        "switches": list(records),
        "train_acc": {},
        "dist_from_init": {},
    }


def table2(
    spread: tuple[float, float], unimodal: tuple[float, float], width: tuple[float, float]
) -> dict[str, Any]:
    def role(i: int) -> dict[str, float]:
        return {"init_spread": spread[i], "unimodal_fraction": unimodal[i], "bump_width": width[i]}

    return {"optimizers": [], "pair": [], "bn": role(0), "nobn": role(1)}


def fig9(losses: dict[str, list[float]]) -> dict[str, Any]:
    return {
        "labels": list(losses),
        "budget": 100.0,
        "final_train_loss": losses,
        "final_train_loss_summary": {},
        "loss_at_budget": losses,
        "loss_at_budget_summary": {},
        "train_acc": {},
        "grad_evals": {},
    }


GOOD_RK = {"sgd": HIGH, "sgd x2": HIGH, "heun": LOW, "ralston": LOW, "midpoint": [5.0] * 3}


def fig10(rises: list[float]) -> dict[str, Any]:
    return {"optimizers": [], "alphas": [], "loss": {}, "rise": {"sgd": rises}, "rise_summary": {}}


def cell(role: str, init: str, train: float, test: list[float], grad: float) -> dict[str, Any]:
    return {
        "role": role,
        "init": init,
        "train_acc": [train] * 3,
        "train_acc_summary": {"mean": train, "std": 0.0, "n": 3},
        "test_acc": test,
        "grad_norm": {"mean": grad, "std": 0.0, "n": 3},
    }


def fig11(
    nobn_default: float = 0.6,
    nobn_exotic: float = 0.1,
    bn_exotic_train: float = 0.5,
    bn_exotic_test: list[float] = LOW,
    grads: tuple[float, float] = (0.01, 0.01),
) -> dict[str, Any]:
    exotic = ("normal(-10,0.01)", "normal(-1,1)")
    cells = [cell("conv_nobn", "default", nobn_default, HIGH, 1.0)]
    cells += [cell("conv_nobn", i, nobn_exotic, LOW, g) for i, g in zip(exotic, grads, strict=True)]
    cells.append(cell("conv_bn", "default", 0.9, HIGH, 1.0))
    cells += [cell("conv_bn", i, bn_exotic_train, bn_exotic_test, 1.0) for i in exotic]
    return {"inits": ["default", *exotic], "optimizer": "sgd", "chance": 0.1, "cells": cells}


KNOWN: dict[str, tuple[Callable[[], dict[str, Any]], ...]] = {
    # claim id: numbers whose verdict is (reproduced, not reproduced, inconclusive)
    "T1-barrier": (
        lambda: pairs(*[(0.5, 0.1, 0.1, 0.5)] * 10),
        lambda: pairs(*[(0.0, 0.1, 0.1, 0.5)] * 10),
        lambda: pairs(*[(0.5, 0.1, 0.1, 0.5)] * 7, *[(0.0, 0.1, 0.1, 0.5)] * 3),
    ),
    "T1-distance": (
        lambda: pairs((0.5, 0.15, 0.09, 0.5)),
        lambda: pairs((0.5, 0.5, 0.01, 0.5)),
        lambda: pairs((0.5, 0.15, 0.01, 0.5)),
    ),
    "T1-different": (
        lambda: pairs((0.5, 0.1, 0.1, 0.5)),
        lambda: pairs((0.5, 0.1, 0.1, 0.1)),
        lambda: pairs((0.5, 0.1, 0.1, 0.25)),
    ),
    "F2-inits": (
        lambda: fig2_3(two=(3, 0)),
        lambda: fig2_3(two=(0, 3)),
        lambda: fig2_3(two=(2, 1)),
    ),
    "F3-quad": (
        lambda: fig2_3(four=(3, 0)),
        lambda: fig2_3(four=(1, 2)),
        lambda: fig2_3(four=(2, 1)),
    ),
    "F4-stereotypy": (
        lambda: fig4(),
        lambda: fig4({"sgd": HIGH, "adam": LOW, "heun": [2.0] * 3}),
        lambda: fig4({"sgd": LOW, "adam": [2.0] * 3, "heun": HIGH}),
    ),
    "F4-test": (
        lambda: fig4(p_test=0.3),
        lambda: fig4(p_test=0.001),
        lambda: fig4(p_train=0.2, p_test=0.3),  # the control: the ANOVA cannot see a difference
    ),
    "F4-inits": (
        lambda: fig4(p_test=0.3),
        lambda: fig4(p_test=0.001),
        lambda: fig4(p_test=0.03),
    ),
    "F5-characteristic": (
        lambda: fig5_6(HIGH, LOW, 0.3),
        lambda: fig5_6(HIGH, LOW, 1.5),
        lambda: fig5_6(HIGH, LOW, 0.7),
    ),
    "F5-basin-alpha": (
        lambda: fig5_6(HIGH, LOW),
        lambda: fig5_6(LOW, HIGH),
        lambda: fig5_6(NOISY, [1.0, 1.1, 0.9]),
    ),
    "F6-basin-abs": (
        lambda: fig5_6(HIGH, LOW),
        lambda: fig5_6(LOW, HIGH),
        lambda: fig5_6(NOISY, [1.0, 1.1, 0.9]),
    ),
    "F7-minimum": (
        lambda: fig7(*[switch(0.5, 0.01, True, -1, 0)] * 4),
        lambda: fig7(*[switch(0.5, 0.8, True, -1, 0)] * 4),  # noise alone separates as much
        lambda: fig7(*[switch(0.5, 0.01, True, -1, 0)] * 3, switch(0.01, 0.0, True, -1, 0)),
    ),
    "F7-jump": (
        lambda: fig7(*[switch(0.5, 0.0, True, -1, 0)] * 4),
        lambda: fig7(*[switch(0.5, 0.0, False, -1, 0)] * 4),
        lambda: fig7(*[switch(0.5, 0.0, True, -1, 0)] * 3, switch(0.5, 0.0, False, -1, 0)),
    ),
    "F7-distance": (
        lambda: fig7(*[switch(0.5, 0.0, True, -1, 0.5)] * 4),
        lambda: fig7(*[switch(0.5, 0.0, True, -1, -2)] * 4),  # pure Adam falls as much
        lambda: fig7(*[switch(0.5, 0.0, True, -1, 0.5)] * 3, switch(0.5, 0.0, True, 1, 0)),
    ),
    "T2-init": (
        lambda: table2((0.01, 0.03), (1, 1), (0, 0)),
        lambda: table2((0.01, 0.005), (1, 1), (0, 0)),
        lambda: table2((0.01, 0.012), (1, 1), (0, 0)),
    ),
    "F8-bumpy": (
        lambda: table2((0.01, 0.01), (1.0, 0.5), (0.1, 0.4)),
        lambda: table2((0.01, 0.01), (0.5, 1.0), (0.4, 0.1)),
        lambda: table2((0.01, 0.01), (1.0, 0.5), (0.4, 0.1)),
    ),
    "F9-rk-epoch": (
        lambda: fig9(GOOD_RK),
        lambda: fig9({**GOOD_RK, "heun": [4.0] * 3}),
        lambda: fig9({**GOOD_RK, "sgd x2": NOISY, "heun": [0.9, 1.0, 1.1]}),  # the control
    ),
    "F9-rk-evals": (
        lambda: fig9(GOOD_RK),
        lambda: fig9({**GOOD_RK, "ralston": [4.0] * 3}),
        lambda: fig9({**GOOD_RK, "sgd": NOISY, "heun": [0.9, 1.0, 1.1]}),
    ),
    "F9-midpoint": (
        lambda: fig9(GOOD_RK),
        lambda: fig9({**GOOD_RK, "midpoint": LOW}),
        lambda: fig9({k: v for k, v in GOOD_RK.items() if k != "midpoint"}),  # midpoint failed
    ),
    "F9-adam": (
        lambda: fig9({"adam": LOW, "adam_rk2": HIGH}),
        lambda: fig9({"adam": HIGH, "adam_rk2": LOW}),
        lambda: fig9({"adam": [1.0, 1.1, 0.9], "adam_rk2": NOISY}),
    ),
    "F10-rise": (
        lambda: fig10([0.5] * 10),
        lambda: fig10([0.5, -0.2, -0.1]),
        lambda: fig10([0.5, 0.5, -0.1]),
    ),
    "F11-nobn": (
        lambda: fig11(),
        lambda: fig11(nobn_exotic=0.6),
        lambda: fig11(nobn_default=0.12),  # the control: the default init does not train either
    ),
    "F11-bn": (
        lambda: fig11(),
        lambda: fig11(bn_exotic_train=0.1),
        lambda: fig11(bn_exotic_test=[2.0, 3.5, 2.5]),
    ),
    "F11-plateau": (
        lambda: fig11(),
        lambda: fig11(grads=(0.5, 2.0)),
        lambda: fig11(grads=(0.01, 2.0)),
    ),
}


def claim(claim_id: str) -> Any:
    return next(c for c in CLAIMS if c.id == claim_id)


COMPANION_EXPERIMENTS = ("yu_morozov",)
"""Experiments whose claims have their known answers in their own test module."""


def test_every_claim_has_known_answers() -> None:
    assert set(KNOWN) == {c.id for c in CLAIMS if c.experiment not in COMPANION_EXPERIMENTS}


@pytest.mark.parametrize("claim_id", list(KNOWN))
@pytest.mark.parametrize("expected", [R, NR, INC])
def test_claim_known_answer(claim_id: str, expected: str) -> None:
    numbers = KNOWN[claim_id][(R, NR, INC).index(expected)]()
    assert judge_claim(claim(claim_id), numbers).verdict == expected


def test_without_numbers_a_claim_is_not_run() -> None:
    assert judge_claim(CLAIMS[0], None).verdict == NOT_RUN


@pytest.mark.parametrize("claim_id", list(KNOWN))
def test_a_missing_or_malformed_number_raises_naming_claim_and_key(claim_id: str) -> None:
    c = claim(claim_id)
    numbers = KNOWN[claim_id][0]()
    key = next(iter(numbers))
    missing = {k: v for k, v in numbers.items() if k != key}
    with pytest.raises(NumbersError, match=f"claim {claim_id}: the numbers lack key '{key}'"):
        judge_claim(c, missing)
    wrong = {**numbers, key: object()}
    with pytest.raises(NumbersError, match=f"claim {claim_id}: key '{key}' should be"):
        judge_claim(c, wrong)


def test_a_nested_missing_key_raises_naming_it() -> None:
    numbers = copy.deepcopy(KNOWN["T1-barrier"][0]())
    del numbers["pairs"][0]["barrier_ratio"]
    message = "claim T1-barrier: the numbers lack key 'barrier_ratio'"
    with pytest.raises(NumbersError, match=message):
        judge_claim(claim("T1-barrier"), numbers)


def test_rule_text_names_its_control_and_thresholds() -> None:
    for c in CLAIMS:
        assert c.control, c.id
        assert c.control in c.rule_text, c.id
        assert EXPERIMENTS[c.experiment].claims.count(c) == 1
    assert "0.0500" not in claim("T1-barrier").rule_text
    assert "≥ 5%" in claim("T1-barrier").rule_text
    assert "≥ 90% of cases" in claim("T1-barrier").rule_text
