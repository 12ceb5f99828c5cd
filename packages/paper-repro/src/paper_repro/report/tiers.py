"""Tiers: the reproduction directories one report compares.

A tier is one reproduction directory (``report --out DIR --tier RUN_DIR ...``; ``DIR`` itself is the
first tier when it holds a run): the cpu preset's 1-D CNN on MNIST-1D, the paper's NIN/VGG on
Fashion-MNIST, the LSTM. Its column is named by the data set of its main setup (from
``RUN_DIR/preset.json``) and its preset; a claim whose experiment does not apply to the tier's task
reads "does not apply". The paper's own scale (CIFAR-10 / Penn Treebank on GPUs) reads "not run
here" unless a directory of the ``paper`` preset is given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import files
from ..claims import Judgement
from ..experiments import CLAIMS, applicable, judge_claim
from ..experiments.context import load_result
from ..preset import setups_task
from ..rules import NOT_RUN, VERDICTS

TIER_NAMES = {
    "mnist1d": "MNIST-1D CNN",
    "fashion_mnist": "NIN/VGG on Fashion-MNIST",
    "pydoc": "LSTM (pydoc corpus)",
    "ptb": "LSTM (Penn Treebank)",
    "cifar10": "paper scale",
}
PAPER_SCALE = "paper scale"
NOT_APPLICABLE = "does not apply"
NOT_RUN_HERE = "not run here"


@dataclass(frozen=True)
class Tier:
    run_dir: Path
    name: str
    """The column heading: the data set's tier name and the preset, e.g. "MNIST-1D CNN (cpu)"."""
    preset: dict[str, Any]
    results: dict[str, dict[str, Any] | None]
    """Every experiment that applies to the tier's task → its saved result (``None``: not run)."""
    judgements: dict[str, Judgement]
    """Claim id → its judgement on this tier (claims of applicable experiments only)."""


UNKNOWN_PRESET: dict[str, Any] = {
    "name": "unknown",
    "description": "no preset.json found — nothing was run",
}
"""The preset of an ``--out`` directory without ``preset.json``, reported as an image tier."""


def load_tier(run_dir: Path, *, required: bool = True) -> Tier:
    """The tier of one reproduction directory (its ``preset.json`` and saved results); without
    ``preset.json`` an error, or (``required=False``) an image tier of unknown preset."""
    run_dir = Path(run_dir)
    preset_path = run_dir / "preset.json"
    if preset_path.exists():
        preset: dict[str, Any] = files.read_json(preset_path)
        dataset = preset["setups"]["bn"]["dataset"]
        name, task = (
            f"{TIER_NAMES.get(dataset, dataset)} ({preset['name']})",
            setups_task(preset["setups"]),
        )
    elif required:
        raise FileNotFoundError(f"--tier {run_dir}: no preset.json (nothing was run there)")
    else:
        preset, name, task = UNKNOWN_PRESET, "unknown preset", "image"
    results = {n: load_result(run_dir, n) for n in applicable(task)}
    numbers = {n: None if r is None else r["numbers"] for n, r in results.items()}
    judgements = {
        c.id: judge_claim(c, numbers[c.experiment]) for c in CLAIMS if c.experiment in numbers
    }
    return Tier(run_dir, name, preset, results, judgements)


def load_tiers(out_dir: Path, run_dirs: Sequence[Path]) -> list[Tier]:
    """``out_dir`` (when it holds a run) and then each of ``run_dirs``, each directory once;
    ``out_dir`` alone even without ``preset.json``."""
    if not run_dirs:
        return [load_tier(out_dir, required=False)]
    dirs = ([Path(out_dir)] if (Path(out_dir) / "preset.json").exists() else []) + [
        Path(d) for d in run_dirs
    ]
    first: dict[Path, Path] = {}  # resolved → as first named
    for d in dirs:
        first.setdefault(d.resolve(), d)
    tiers = [load_tier(d) for d in first.values()]
    names = [t.name for t in tiers]
    if len(set(names)) < len(names):
        raise ValueError(f"--tier: the same preset twice ({', '.join(names)})")
    return tiers


def verdict(tier: Tier, claim_id: str) -> str:
    """The claim's verdict on ``tier``, or "does not apply"."""
    judged = tier.judgements.get(claim_id)
    return NOT_APPLICABLE if judged is None else judged.verdict


def agreement(verdicts: Sequence[str]) -> str:
    """One line on whether the tiers that judged a claim agree."""
    judged = [v for v in verdicts if v in VERDICTS and v != NOT_RUN]
    if not judged:
        return "no tier judged it"
    if len(judged) == 1:
        return f"judged on one tier only ({judged[0]})"
    if len(set(judged)) == 1:
        return f"all {len(judged)} judging tiers agree: {judged[0]}"
    return "tiers disagree: " + ", ".join(
        f"{v} ×{judged.count(v)}" for v in VERDICTS if v in judged
    )
