"""Known answers for the analysis helpers, the decision rules and the shared formatter, and the
figures paper_repro draws itself (rendered from small numbers, written as PNG and PDF)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from paper_repro.experiments import Context
from paper_repro.experiments.context import barrier, save_figure
from paper_repro.experiments.fig4 import anova
from paper_repro.experiments.fig5_6 import alpha_width, curve_ratio
from paper_repro.experiments.table2_fig8 import bump_width, peaks
from paper_repro.figures import table1_figure
from paper_repro.presets import PRESETS
from paper_repro.rules import (
    INCONCLUSIVE,
    NOT_REPRODUCED,
    REPRODUCED,
    AllOf,
    Conditions,
    Controlled,
    Each,
    Larger,
    Share,
    Threshold,
    Within,
    worst,
)
from paper_repro.stats import fmt, mean_std

R, NR, INC = REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE


def test_barrier_is_the_rise_above_the_higher_end() -> None:
    assert barrier(np.array([1.0, 3.0, 2.0])) == 1.0
    assert barrier(np.array([1.0, 0.5, 2.0])) == 0.0
    assert barrier(np.array([2.0, 1.0, 0.5])) == 0.0
    assert barrier(np.array([1.0, np.nan, 1.0])) == math.inf  # a non-finite point: no way across


def test_alpha_width_is_the_flat_stretch_before_the_final() -> None:
    alphas = np.linspace(0.0, 1.0, 5)
    assert alpha_width(alphas, np.array([5.0, 3.0, 1.05, 1.0, 1.0]), 0.1) == 0.5
    assert alpha_width(alphas, np.array([1.0, 1.0, 1.0, 1.0, 1.0]), 0.1) == 1.0
    assert alpha_width(alphas, np.array([1.0, 1.0, 1.0, 5.0, 1.0]), 0.1) == 0.0
    assert alpha_width(alphas, np.array([1.0, 1.0, np.nan, 1.0, 1.0]), 0.1) == 0.25


def test_curve_ratio_compares_restarts_with_other_optimizers() -> None:
    a, b = np.zeros(4), np.ones(4)
    # within: 0.1 for both; between: 1, 1.1, 0.9, 1 → mean 1
    assert curve_ratio({"x": [a, a + 0.1], "y": [b, b + 0.1]}) == pytest.approx(0.1)
    assert curve_ratio({"x": [a, b], "y": [a, b]}) == pytest.approx(1.0 / 0.5)
    assert math.isnan(curve_ratio({"x": [a], "y": [b]}))  # no restart: no within difference


def test_peaks_counts_prominent_interior_maxima() -> None:
    assert peaks(np.array([0.0, 1.0, 0.0])) == 1
    assert peaks(np.array([0.0, 1.0, 0.0, 1.0, 0.0])) == 2
    assert peaks(np.array([0.0, 1.0, 0.99, 1.0, 0.0])) == 0  # a plateau with a dip: no peak
    assert peaks(np.array([0.0, 1.0, 0.9, 1.0, 0.0])) == 2
    assert peaks(np.array([0.0, 0.5, 1.0])) == 0


def test_bump_width_is_the_share_above_half_the_barrier() -> None:
    assert bump_width(np.array([0.0, 0.0, 2.0, 0.0, 0.0])) == pytest.approx(0.2)
    assert bump_width(np.array([0.0, 2.0, 2.0, 2.0, 0.0])) == pytest.approx(0.6)
    assert bump_width(np.array([0.0, 0.5, 1.0])) == 0.0


def test_anova_p_values() -> None:
    assert anova([[1.0, 1.1, 0.9], [1.0, 1.1, 0.9]]) == pytest.approx(1.0)
    assert anova([[1.0, 1.01, 0.99], [5.0, 5.01, 4.99]]) < 1e-6
    assert math.isnan(anova([[1.0], [2.0, 3.0]]))  # one group left with two samples or more
    single = [[9.0], [1.0, 1.01, 0.99], [5.0, 5.01, 4.99]]  # the single-run group is left out
    assert anova(single) == anova(single[1:]) < 1e-6
    assert math.isnan(anova([[1.0, 1.0], [1.0, 1.0]]))  # no variation at all
    assert math.isnan(anova([[1.0, 2.0]]))


def test_share_rule() -> None:
    rule = Share("x holds")
    assert [rule.decide([True] * 9 + [False]), rule.decide([True] * 8 + [False] * 2)] == [R, INC]
    assert [rule.decide([True] * 4 + [False] * 6), rule.decide([])] == [NR, INC]
    assert rule.text.startswith("x holds, per case: reproduced if ≥ 90% of cases")


def test_larger_rule() -> None:
    rule = Larger("A", "B")
    assert rule.decide(([3.0, 3.1, 2.9], [1.0, 1.1, 0.9])) == R
    assert rule.decide(([1.0, 1.1, 0.9], [3.0, 3.1, 2.9])) == NR
    assert rule.decide(([1.0, 3.0], [1.5, 1.6])) == INC  # d = 0.45, se ≈ 1.0
    assert rule.decide(([], [1.0])) == INC
    assert rule.decide(([2.0, math.nan], [1.0])) == R  # non-finite samples are left out
    assert "reproduced if d > 2·se" in rule.text
    assert "d > 3·se" in Larger("A", "B", z=3.0).text


def test_threshold_and_within_rules() -> None:
    up, down = Threshold("p", 0.05, 0.01), Threshold("r", 0.5, 1.0)
    assert [up.decide(v) for v in (0.05, 0.03, 0.009, math.nan)] == [R, INC, NR, INC]
    assert [down.decide(v) for v in (0.5, 0.7, 1.0, 1.01)] == [R, INC, INC, NR]
    assert up.text == "p ≥ 0.05 reproduced, < 0.01 not reproduced, else inconclusive"
    assert down.text == "r ≤ 0.5 reproduced, > 1 not reproduced, else inconclusive"
    band = Within("v", 0.08, 0.32)
    assert [band.decide(v) for v in (0.08, 0.32, 0.33, math.nan)] == [R, R, NR, INC]
    assert band.text == "v ∈ [0.08, 0.32]"


def test_combining_rules() -> None:
    both = Conditions(("a", "b"))
    assert [both.decide(f) for f in ([True, True], [True, False], [False, False])] == [R, INC, NR]
    with pytest.raises(ValueError, match="2 conditions need 2 flags"):
        both.decide([True])
    all_of = AllOf((Share("x"), Threshold("p", 0.05, 0.01)))
    assert all_of.decide([[True], 0.5]) == R
    assert all_of.decide([[True], 0.001]) == NR
    assert "(x, per case" in all_of.text
    each = Each(Threshold("p", 0.05, 0.01), "init")
    assert [each.decide({"a": 0.5, "b": 0.03}), each.decide({})] == [INC, INC]
    controlled = Controlled(Threshold("p", 0.05, 0.01), "the control holds")
    assert [controlled.decide((True, 0.001)), controlled.decide((False, 0.5))] == [NR, INC]
    assert controlled.text.endswith("only if the control holds, else inconclusive")
    assert worst([R, INC]) == INC
    assert worst([R, NR, INC]) == NR
    assert worst([]) == INC


def test_one_mean_and_spread_formatter() -> None:
    assert fmt([1.0, 2.0, 3.0]) == "2 ± 1 (n=3)"
    assert fmt([1.0, math.nan]) == "1 ± 0 (n=1)"
    assert fmt([]) == "n/a"
    assert mean_std([1.0, 3.0]) == {"mean": 2.0, "std": pytest.approx(math.sqrt(2)), "n": 2}


def test_table1_figure_renders_from_small_numbers(tmp_path: Path) -> None:
    names = ["sgd", "adam", "midpoint"]
    grid = np.exp(np.linspace(0.0, 2.0, 9)).reshape(3, 3)
    surfaces = {(1, 0): grid, (2, 0): grid * 100, (2, 1): grid}
    distances = {(0, 1): (0.12, 0.08), (0, 2): (0.5, 0.4), (1, 2): (0.3, 0.2)}
    fig = table1_figure(names, surfaces, distances, failed=["midpoint"])
    (image,) = [im for ax in fig.axes for im in ax.get_images()]
    assert image.norm.vmax == pytest.approx(grid.max())  # the failed run stays off the scale
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert "midpoint\n(failed)" in texts
    assert "rms 0.12\ndis 8%" in texts
    ctx = Context(preset=PRESETS["smoke"], out_dir=tmp_path)
    assert save_figure(ctx, "table1", "table1", fig) == "table1/table1.png"
    for ext in ("png", "pdf"):
        assert (tmp_path / "table1" / f"table1.{ext}").stat().st_size > 1000
