"""The report by tier: each claim's verdict on every tier side by side.

A tier is one reproduction directory (``report --out DIR --tier RUN_DIR --tier RUN_DIR ...``): the
cpu preset's 1-D CNN on MNIST-1D, the paper's NIN/VGG on Fashion-MNIST, the LSTM. Its column is
named by the data set of its main setup (from ``RUN_DIR/preset.json``); a claim whose experiment
does not apply to the tier's task reads "does not apply". The paper's own scale (CIFAR-10 /
Penn Treebank on GPUs) reads "not run here" unless a directory of the ``paper`` preset is given.
Verdicts come from :mod:`paper_repro.report`'s judgement of each directory, so they are the ones
each directory's own report shows. Written to ``DIR/tiers.md`` and ``DIR/tiers.html``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import files
from .claims import Claim
from .experiments import CLAIMS, applicable, judge_claim
from .experiments.context import load_result
from .preset import setups_task
from .report import Block, to_html, to_markdown
from .rules import NOT_RUN, VERDICTS

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


def load_tier(run_dir: Path) -> tuple[str, dict[str, Any], dict[str, str]]:
    """``(column name, preset, claim id → verdict)`` of one reproduction directory."""
    preset_path = Path(run_dir) / "preset.json"
    if not preset_path.exists():
        raise FileNotFoundError(f"--tier {run_dir}: no preset.json (nothing was run there)")
    preset: dict[str, Any] = files.read_json(preset_path)
    dataset = preset["setups"]["bn"]["dataset"]
    name = f"{TIER_NAMES.get(dataset, dataset)} ({preset['name']})"
    names = applicable(setups_task(preset["setups"]))
    results = {n: load_result(Path(run_dir), n) for n in names}
    numbers = {n: None if r is None else r["numbers"] for n, r in results.items()}
    verdicts = {
        c.id: judge_claim(c, numbers[c.experiment]).verdict
        for c in CLAIMS
        if c.experiment in numbers
    }
    return name, preset, verdicts


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


def build(run_dirs: Sequence[Path]) -> list[Block]:
    """The blocks of the tier report over ``run_dirs``."""
    if not run_dirs:
        raise ValueError("--tier: name at least one reproduction directory")
    tiers = [load_tier(d) for d in run_dirs]
    columns = [name for name, _, _ in tiers]
    if len(set(columns)) < len(columns):
        raise ValueError(f"--tier: the same preset twice ({', '.join(columns)})")
    paper_run = any(p["name"] == "paper" for _, p, _ in tiers)
    header = ["Claim", *columns, *([] if paper_run else [PAPER_SCALE]), "Agreement"]
    claims: dict[str, Claim] = {}  # the first claim of each id (table1's and table1_lstm's share)
    for c in CLAIMS:
        claims.setdefault(c.id, c)
    rows = []
    for c in claims.values():
        cells = [v.get(c.id, NOT_APPLICABLE) for _, _, v in tiers]
        rows.append([f"{c.id}: {c.paper}", *cells, *([] if paper_run else [NOT_RUN_HERE])])
        rows[-1].append(agreement(cells))
    counts = [
        [name, *[str(list(v.values()).count(verdict)) for verdict in VERDICTS]]
        for name, _, v in tiers
    ]
    blocks = [
        Block(
            "heading",
            (1, "Reproduction by tier: An empirical analysis of deep network loss surfaces"),
        ),
        Block(
            "para",
            f"{len(tiers)} tier(s): {', '.join(columns)}. Each cell is the verdict that tier's own "
            f"report gives (rules in that report); '{NOT_APPLICABLE}': the claim's experiment does "
            f"not run on that network; '{NOT_RUN_HERE}': the paper's scale needs GPUs.",
        ),
        Block("heading", (2, "Verdicts per tier")),
        Block("table", (header, rows)),
        Block("heading", (2, "Summary: verdicts per tier")),
        Block("table", (["Tier", *VERDICTS], counts)),
        Block("heading", (2, "Setup and deviations of each tier")),
    ]
    for (name, preset, _), run_dir in zip(tiers, run_dirs, strict=True):
        setups = [[role, s["description"]] for role, s in preset["setups"].items()]
        blocks += [
            Block("heading", (3, name)),
            Block(
                "para",
                f"`{run_dir}`: {preset['description']}; {preset['epochs']} epochs, "
                f"{preset['seeds']} seed(s), optimizers {', '.join(preset['optimizers'])}.",
            ),
            Block("table", (["Role", "Model and data"], setups)),
            Block("items", list(preset.get("deviations", [])) or ["none"]),
        ]
    return blocks


def write_tier_report(out_dir: Path, run_dirs: Sequence[Path]) -> tuple[Path, Path]:
    """Write ``out_dir/tiers.md`` and ``out_dir/tiers.html`` (atomically); return their paths."""
    blocks = build(run_dirs)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    md, page = out_dir / "tiers.md", out_dir / "tiers.html"
    files.write_text(md, to_markdown(blocks))
    files.write_text(page, to_html(blocks))
    return md, page
