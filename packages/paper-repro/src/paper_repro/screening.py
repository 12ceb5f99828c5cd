"""Failed-run detection: a run whose loss went non-finite, whose final training loss is not below
its initial one (it diverged and came only partly back), or whose final training accuracy stays
within ``CHANCE_MARGIN`` (5 points) of chance, is "diverged/failed".

A language model (its data set records ``meta["unigram_perplexity"]``) has thousands of classes,
so chance accuracy says little: it has failed when its final held-out perplexity exp(test_loss)
is above ``LM_FAILURE_RATIO`` (0.9) × the unigram perplexity of the same split — it stayed near
the model that ignores context.

Such a run measures the learning rate, not the optimizer, so it is left out of every comparison
whose claim is not about training failure (Figure 11's claims are; that experiment screens
nothing). Experiments record what they left out, and why, in their ``excluded`` numbers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from .train import RunResult

CHANCE_MARGIN = 0.05
LM_FAILURE_RATIO = 0.9


def failure(
    history: Sequence[Mapping[str, Any]], chance: float, unigram_perplexity: float | None = None
) -> str | None:
    """Why a run with this history failed, or None when it trained (``unigram_perplexity``: the
    held-out split's, for language models)."""
    for record in history:
        for key in ("train_loss", "test_loss"):
            if not math.isfinite(float(record[key])):
                return f"diverged: {key} non-finite at epoch {record['epoch']}"
    if unigram_perplexity is not None:
        perplexity = math.exp(min(float(history[-1]["test_loss"]), 700.0))  # no overflow
        if perplexity > LM_FAILURE_RATIO * unigram_perplexity:
            return (
                f"failed: held-out perplexity {perplexity:.1f} above {LM_FAILURE_RATIO:g}× the "
                f"unigram perplexity {unigram_perplexity:.1f}"
            )
    acc = float(history[-1]["train_acc"])
    if acc <= chance + CHANCE_MARGIN:
        return (
            f"failed: final train accuracy {acc:.3f} within {CHANCE_MARGIN * 100:.0f} points of "
            f"chance ({chance:.2f})"
        )
    first, last = float(history[0]["train_loss"]), float(history[-1]["train_loss"])
    if last >= first:
        return f"diverged: final train loss {last:.3g} not below the initial {first:.3g}"
    return None


def describe(run: RunResult) -> str:
    """A run's identity in one line: model, BN, schedule, rate, init, seed (and minibatch order
    when it is not the seed's)."""
    c = run.config
    bn = "BN" if c.model_kwargs.get("batchnorm", True) else "no BN"
    lr = "" if c.lr is None else f" lr={c.lr:g}"
    order = "" if c.data_seed == c.init_seed else f" data_seed={c.data_seed}"
    return f"{c.model} ({bn}) {c.schedule}{lr} init={c.init} seed={c.init_seed}{order}"
