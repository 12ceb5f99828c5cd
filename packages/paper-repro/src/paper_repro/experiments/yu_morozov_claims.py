"""The claims of :mod:`paper_repro.experiments.yu_morozov` (Yu & Morozov: SGD against a full-batch
quasi-Newton method), their rules, controls and thresholds, judged on its ``Numbers``.

(a) YM-barriers: the height H of fitted Fourier paths within quasi-Newton pairs above that within
SGD pairs; (b) YM-deep-isolated: quasi-Newton solutions deeper (training loss), more isolated
(mean H to the other solutions) and more spread in the kernel-PCA map; (c) YM-generalise: SGD's
test accuracy above quasi-Newton's. Each is inconclusive when its control fails.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..claims import Claim, Record
from ..rules import AllOf, Controlled, Larger, Threshold
from ..stats import fmt

NAME = "yu_morozov"
SGD, QN = "sgd", "lbfgs_golden"
METHODS = (SGD, QN)
MIN_PAIRS = 3
"""Claim (a) needs at least this many fitted paths within each method."""
MIN_SOLUTIONS = 2
"""Claims (b) and (c) need at least this many kept solutions of each method."""
FIT_SLACK = 0.02
"""The fit worked when the fitted path is no higher than the straight line × (1 + this)."""
FIT_SHARE = 0.9
"""… for at least this share of the pairs."""
SPREAD_RATIO = (1.2, 1.0)
"""Map spread quasi-Newton / SGD: reproduced at or above the first, not reproduced below the
second."""
ACC_MARGIN = 0.05
"""Claim (c)'s control: the two methods' mean training accuracies at most this far apart (a
method that under-fits wins or loses on test accuracy for the wrong reason)."""


def _group(n: Record, group: str, key: str) -> list[float]:
    return [float(q[key]) for q in n["pairs"] if q["group"] == group]


def _per_method(n: Record, method: str, key: str) -> list[float]:
    return [float(s[key]) for s in n["solutions"] if s["method"] == method]


def _enough_solutions(n: Record) -> bool:
    return all(len(_per_method(n, m, "train_acc")) >= MIN_SOLUTIONS for m in METHODS)


def _barriers(n: Record) -> tuple[Any, str]:
    sgd, qn = _group(n, SGD, "height"), _group(n, QN, "height")
    fitted = [float(q["height"]) for q in n["pairs"]]
    lines = [float(q["line_height"]) for q in n["pairs"]]
    worked = [h <= (1.0 + FIT_SLACK) * line for h, line in zip(fitted, lines, strict=True)]
    share = sum(worked) / len(worked) if worked else 0.0
    holds = min(len(sgd), len(qn)) >= MIN_PAIRS and share >= FIT_SHARE
    ours = (
        f"H within quasi-Newton {fmt(qn)} vs within SGD {fmt(sgd)}; across "
        f"{fmt(_group(n, 'across', 'height'))}; straight lines: within quasi-Newton "
        f"{fmt(_group(n, QN, 'line_height'))}, within SGD {fmt(_group(n, SGD, 'line_height'))}; "
        f"fitted ≤ line on {share:.0%} of pairs"
    )
    return (holds, (qn, sgd)), ours


def _spread_ratio(n: Record) -> float:
    spread = n["map_spread"]
    if SGD not in spread or QN not in spread or not spread[SGD] > 0:
        return float("nan")
    return float(spread[QN]) / float(spread[SGD])


def _deep_isolated(n: Record) -> tuple[Any, str]:
    loss = _per_method(n, SGD, "train_loss"), _per_method(n, QN, "train_loss")
    isolation = _per_method(n, QN, "isolation"), _per_method(n, SGD, "isolation")
    ratio = _spread_ratio(n)
    ours = (
        f"training loss SGD {fmt(loss[0])} vs quasi-Newton {fmt(loss[1])}; isolation "
        f"quasi-Newton {fmt(isolation[0])} vs SGD {fmt(isolation[1])}; map spread quasi-Newton "
        f"/ SGD = {ratio:.3g}"
    )
    return (_enough_solutions(n), (loss, isolation, ratio)), ours


def _generalise(n: Record) -> tuple[Any, str]:
    test = _per_method(n, SGD, "test_acc"), _per_method(n, QN, "test_acc")
    train = _per_method(n, SGD, "train_acc"), _per_method(n, QN, "train_acc")
    fits = bool(train[0] and train[1]) and abs(np.mean(train[1]) - np.mean(train[0])) <= ACC_MARGIN
    ours = (
        f"test accuracy SGD {fmt(test[0])} vs quasi-Newton {fmt(test[1])}; train accuracy SGD "
        f"{fmt(train[0])} vs quasi-Newton {fmt(train[1])}"
    )
    return (_enough_solutions(n) and bool(fits), test), ours


_SCREENED = (
    "failed runs (loss non-finite, not below its start, or accuracy near chance) screened out; "
    "both methods from the same seeds and θ_0"
)

CLAIMS = (
    Claim(
        "YM-barriers",
        NAME,
        "Yu & Morozov: SGD solutions are separated by lower barriers (the height H of fitted "
        "low-loss Fourier paths) than the quasi-Newton solutions.",
        Controlled(
            Larger("H within quasi-Newton pairs", "H within SGD pairs"),
            f"≥ {MIN_PAIRS} fitted paths within each method and the fitted path no higher than "
            f"the straight line (+{FIT_SLACK:.0%}) for ≥ {FIT_SHARE:.0%} of pairs",
        ),
        "the straight line between the same solutions (the fit must lower it: else the "
        "barrier measures the fit, not the landscape); " + _SCREENED,
        _barriers,
    ),
    Claim(
        "YM-deep-isolated",
        NAME,
        "Yu & Morozov: quasi-Newton solutions are deeper (lower training loss) and more isolated "
        "(higher barriers to the other solutions, larger spread in the kernel-PCA map).",
        Controlled(
            AllOf(
                (
                    Larger("final training loss of SGD", "of quasi-Newton"),
                    Larger("mean H from a quasi-Newton solution to the others", "from an SGD one"),
                    Threshold("kernel-PCA map spread quasi-Newton / SGD", *SPREAD_RATIO),
                )
            ),
            f"≥ {MIN_SOLUTIONS} kept solutions of each method",
        ),
        "SGD solutions from the same seeds, judged by the same paths and the same map; "
        + _SCREENED,
        _deep_isolated,
    ),
    Claim(
        "YM-generalise",
        NAME,
        "Yu & Morozov: SGD solutions generalise better (higher test accuracy) than the "
        "quasi-Newton solutions.",
        Controlled(
            Larger("test accuracy of SGD", "of quasi-Newton"),
            f"≥ {MIN_SOLUTIONS} kept solutions of each method and both fit the training set "
            f"alike (mean train accuracies within {ACC_MARGIN * 100:.0f} points)",
        ),
        "training accuracy of the same solutions (a method that under-fits wins or loses on "
        "test accuracy for the wrong reason: training progress, not generalisation); " + _SCREENED,
        _generalise,
    ),
)
