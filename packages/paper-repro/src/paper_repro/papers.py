"""The four papers the report answers, in the report's order.

Each experiment module declares ``SOURCE``, the key of the paper whose claims it judges; the report
gives every paper its own section. ``im_tao_branson_extension`` holds the experiments that ask the
companion papers' questions of Im et al.'s minima: their results are shown beside the paper's
claims, not counted as verdicts on it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Paper:
    key: str
    short: str
    """The name the summary table uses."""
    title: str
    """Authors, year and title, as the report's section heading."""
    scope: str
    """One sentence on what the section judges and on which networks."""
    judged: bool = True
    """Whether its claims are verdicts on a paper (counted in the summary) or an extension's
    findings."""


PAPERS: dict[str, Paper] = {
    p.key: p
    for p in (
        Paper(
            "im_tao_branson",
            "Im et al.",
            "Im, Tao & Branson (2016) — An empirical analysis of deep network loss surfaces",
            "The reproduced paper: each of its claims, judged on every tier that runs it.",
        ),
        Paper(
            "im_tao_branson_extension",
            "Im et al., extension",
            "Im et al. §4.1 revisited — curved paths and permutations (an extension)",
            "Table 1's pairs of minima joined by a fitted low-loss curve and by the straight line "
            "after permutation alignment. This asks the companion papers' question of Im et al.'s "
            "minima; it is not a verdict on the paper, whose claim is about straight lines.",
            judged=False,
        ),
        Paper(
            "freeman_bruna",
            "Freeman & Bruna",
            "Freeman & Bruna (2017) — Topology and geometry of half-rectified network optimization",
            "Level-set connectivity by Dynamic String Sampling on the same networks' minima.",
        ),
        Paper(
            "yu_morozov",
            "Yu & Morozov",
            "Yu & Morozov — Neural network optimization strategies and the topography of the "
            "loss landscape",
            "SGD against a full-batch quasi-Newton method with a golden-section line search: "
            "Fourier-path barriers, depth, isolation and generalisation of their solutions.",
        ),
        Paper(
            "no_wrong_turns",
            "No Wrong Turns",
            "No Wrong Turns: the simple geometry of neural network optimization paths (2023)",
            "Restricted secant inequality (RSI), error bound (EB) and γ along every optimizer's "
            "path, against random-direction and shuffled-label baselines.",
        ),
    )
}
