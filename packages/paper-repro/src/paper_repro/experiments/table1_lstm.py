"""Table 1 for the LSTM language model (paper §4.1, its Penn Treebank network): every pair of
optimizers trained from one initialisation, analysed as :mod:`.table1` does.

The network outputs next-word logits (B, T, V): the loss is the token-weighted cross-entropy and
the functional distance compares next-word distributions, softmax over V with every token of the
first :data:`DISTANCE_WINDOWS` held-out windows an example (eq. 4.1). Runs still near the unigram
model (held-out perplexity above ``screening.LM_FAILURE_RATIO`` × the unigram perplexity of the
same split) are failed and left out. The paper's quoted distance (≈ 0.16, 8 % disagreement) is
for its CIFAR-10 networks, so only the barrier and "different networks" claims are judged here.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ..screening import LM_FAILURE_RATIO
from . import table1
from .context import Analysis, Context

NAME = "table1_lstm"
TASK = "language"
SOURCE = "im_tao_branson"
TITLE = "Table 1 (LSTM) — different optimizers from one initialisation find different minima"
DISTANCE_WINDOWS = 64
"""Held-out windows (of ``bptt`` tokens) the functional distances are measured on."""

Numbers = table1.Numbers


def plan(ctx: Context) -> dict[str, Any]:
    return table1.plan(ctx)


def analyse(ctx: Context, runs: dict[str, Any]) -> Analysis:
    return table1.compare_pairs(ctx, runs, NAME, test_examples=DISTANCE_WINDOWS)


_CONTROL = (
    f"; failed runs: held-out perplexity above {LM_FAILURE_RATIO:g}× the unigram perplexity of "
    "the same split"
)
CLAIMS = tuple(
    dataclasses.replace(claim, experiment=NAME, control=claim.control + _CONTROL)
    for claim in table1.CLAIMS
    if claim.id in ("T1-barrier", "T1-different")
)
