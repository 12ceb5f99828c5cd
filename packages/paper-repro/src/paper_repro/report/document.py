"""The reproduction report: ``OUT/report.md`` and a self-contained ``OUT/report.html``.

Built only from the saved files (each tier's ``preset.json``, ``<experiment>/result.json`` and the
figures next to them), so it can be (re)written after any partial run: experiments without a result
are marked "not run". A summary first — every claim of the four papers with its verdict on each tier
and one line on whether the tiers agree, then the verdicts counted per tier. Then one section per
paper (:data:`paper_repro.papers.PAPERS`); in it, for each experiment and tier: the figures, the
claims, our numbers, the rule and control that decide (rendered by the rule objects themselves,
:mod:`paper_repro.rules`), the verdict and the failed runs left out of its comparisons. Last the
learning-rate pilots, how verdicts are decided, and each tier's setup and deviations. Numbers that
do not hold what a claim needs raise :class:`paper_repro.claims.NumbersError`: no report is
written.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from .. import claims, files, pilot, rules, screening
from ..experiments import CLAIMS, EXPERIMENTS, Experiment
from ..experiments.context import load_pilots
from ..papers import PAPERS
from ..rules import VERDICTS
from .render import Block, to_html, to_markdown
from .tiers import NOT_RUN_HERE, PAPER_SCALE, Tier, agreement, load_tiers, verdict

SETTINGS = (
    "epochs",
    "exotic_epochs",
    "batch_size",
    "seeds",
    "optimizers",
    "lr_grid",
    "pilot_fraction",
    "resolution",
    "line_steps",
    "probe_examples",
    "basin_threshold",
    "basin_reach",
    "weight_decay",
    "momentum",
    "device",
    "precision",
)
"""The preset settings each tier's setup table shows."""


def build(out_dir: Path, tier_dirs: Sequence[Path] = ()) -> list[Block]:
    """The report's blocks: ``out_dir``'s reproduction (when it holds one) and each of
    ``tier_dirs``, side by side."""
    out_dir = Path(out_dir)
    tiers = load_tiers(out_dir, tier_dirs)
    finished = sum(r is not None for t in tiers for r in t.results.values())
    planned = sum(len(t.results) for t in tiers)
    presets = "; ".join(f"`{t.preset['name']}`: {t.preset['description']}" for t in tiers)
    blocks = [
        Block("heading", (1, "Reproduction: four papers on deep-network loss surfaces")),
        Block(
            "para",
            f"Im, Tao & Branson (2016), with the companion papers' questions about the same "
            f"minima. {presets or 'No preset.json found — nothing was run.'} {finished} of "
            f"{planned} experiments finished. Verdicts are computed from the saved numbers by "
            "the rules printed with each claim (see 'How verdicts are decided').",
        ),
        *_summary(tiers),
    ]
    for paper in PAPERS.values():
        experiments = [e for e in EXPERIMENTS.values() if e.source == paper.key]
        applying = [e for e in experiments if any(e.name in t.results for t in tiers)]
        if not applying:
            continue
        blocks += [Block("heading", (2, paper.title)), Block("para", paper.scope)]
        for exp in applying:
            blocks += _experiment(out_dir, exp, tiers)
        deviations = [d for e in applying for d in e.deviations]
        if deviations:
            blocks += [Block("para", "Deviations from this paper:"), Block("items", deviations)]
    blocks += _pilots(tiers)
    blocks += _setup(out_dir, tiers)
    return blocks


def _summary(tiers: list[Tier]) -> list[Block]:
    many = len(tiers) > 1
    paper_run = any(t.preset["name"] == "paper" for t in tiers)
    scale = [PAPER_SCALE] if many and not paper_run else []
    header = ["Paper", "Figure / table", "Claim", *[t.name for t in tiers], *scale]
    first: dict[str, claims.Claim] = {}  # the first claim of each id (table1/table1_lstm share)
    for c in CLAIMS:
        if any(c.experiment in t.results for t in tiers):
            first.setdefault(c.id, c)
    rows = []
    for c in first.values():
        exp = EXPERIMENTS[c.experiment]
        cells = [verdict(t, c.id) for t in tiers]
        row = [PAPERS[exp.source].short, exp.title.split(" — ")[0], f"{c.id}: {c.paper}", *cells]
        rows.append(row + [NOT_RUN_HERE] * len(scale) + ([agreement(cells)] if many else []))
    counts = [[t.name, *[str(_count(t, v)) for v in VERDICTS]] for t in tiers]
    return [
        Block("heading", (2, "Summary")),
        Block("table", ([*header, *(["Agreement"] if many else [])], rows)),
        Block("heading", (3, "Verdicts per tier (the extension's findings are not counted)")),
        Block("table", (["Tier", *VERDICTS], counts)),
    ]


COUNTED = frozenset(c.id for c in CLAIMS if PAPERS[EXPERIMENTS[c.experiment].source].judged)
"""The claims the per-tier counts include: the papers' (not the extension's findings)."""


def _count(tier: Tier, wanted: str) -> int:
    """How many of the counted claims ``tier`` judges ``wanted``."""
    return sum(j.verdict == wanted for c, j in tier.judgements.items() if c in COUNTED)


def _experiment(out_dir: Path, exp: Experiment, tiers: list[Tier]) -> list[Block]:
    blocks = [Block("heading", (3, exp.title))]
    for tier in tiers:
        if exp.name not in tier.results:
            continue
        if len(tiers) > 1:
            blocks.append(Block("heading", (4, f"{exp.title.split(' — ')[0]} on {tier.name}")))
        result = tier.results[exp.name]
        if result is None:
            blocks.append(Block("para", f"Not run: `{exp.name}/result.json` is missing."))
        else:
            for fig in result["figures"]:
                path = _relative(tier.run_dir / fig, out_dir)
                blocks.append(Block("image", (path, f"{exp.name}: {Path(fig).stem}")))
            blocks += _excluded(result.get("excluded", []))
        rows = [
            [c.paper, tier.judgements[c.id].ours, c.rule_text, tier.judgements[c.id].verdict]
            for c in exp.claims
        ]
        header = ["Paper", "Ours (mean ± std)", "Rule and control", "Verdict"]
        blocks.append(Block("table", (header, rows)))
    return blocks


def _excluded(excluded: list[dict[str, str]]) -> list[Block]:
    if not excluded:
        return [Block("para", "No run of this experiment failed: none was left out.")]
    return [
        Block("para", "Failed runs left out of this experiment's comparisons:"),
        Block("items", [f"{e['run']}: {e['reason']}" for e in excluded]),
    ]


def _pilots(tiers: list[Tier]) -> list[Block]:
    blocks = [
        Block("heading", (2, "Learning rates: the pilot runs")),
        Block("para", pilot.__doc__.split("\n\n")[1] if pilot.__doc__ else ""),
    ]
    header = ["Setup", "Optimizer", "Rate", "Epochs", "Held-out loss", "Test acc", "Train acc"]
    for tier in tiers:
        if len(tiers) > 1:
            blocks.append(Block("heading", (3, tier.name)))
        table = load_pilots(tier.run_dir)
        if not table:
            blocks.append(Block("para", "No pilot has run."))
            continue
        ends = [pilot.grid_end([row["lr"] for row in e["rows"]], e["chosen"]) for e in table]
        rows = [
            [
                entry["role"],
                entry["optimizer"],
                _rate(row["lr"], entry["chosen"], end),
                str(row["epochs"]),
                f"{row['test_loss']:.4g}",
                f"{row['test_acc']:.3f}",
                f"{row['train_acc']:.3f}" + (f" — {row['failure']}" if row["failure"] else ""),
            ]
            for entry, end in zip(table, ends, strict=True)
            for row in entry["rows"]
        ]
        blocks.append(Block("table", (header, rows)))
        at_end = [
            f"{e['role']} {e['optimizer']} {e['chosen']:g} ({end})"
            for e, end in zip(table, ends, strict=True)
            if end
        ]
        if at_end:
            text = "Chosen at an end of the grid, so a better rate may lie beyond it: "
            blocks.append(Block("para", f"{text}{', '.join(at_end)}."))
    return blocks


def _rate(lr: float, chosen: float, end: str | None) -> str:
    """A pilot's rate, marked when chosen (and when that is an end of its grid)."""
    if lr != chosen:
        return f"{lr:g}"
    return f"{lr:g} (chosen: the grid's {end})" if end else f"{lr:g} (chosen)"


def _relative(path: Path, out_dir: Path) -> str:
    """``path`` as the report names it: relative to the report's directory (no absolute path is
    written, so the report reads the same wherever the runs are)."""
    return Path(os.path.relpath(path, out_dir)).as_posix()


def _where(run_dir: Path, out_dir: Path) -> str:
    """Where a tier's runs are, said relative to the report."""
    relative = _relative(run_dir, out_dir)
    return "this report's directory" if relative == "." else f"`{relative}`"


def _setup(out_dir: Path, tiers: list[Tier]) -> list[Block]:
    blocks = [
        Block("heading", (2, "How verdicts are decided")),
        Block("para", claims.__doc__ or ""),
        Block("para", rules.__doc__ or ""),
        Block("para", screening.__doc__ or ""),
        Block("heading", (2, "Setup and deviations of each tier")),
    ]
    for tier in tiers:
        preset = tier.preset
        if "setups" not in preset:
            where = _where(tier.run_dir, out_dir)
            blocks.append(Block("para", f"Run directory: {where}; no preset.json, setup unknown."))
            continue
        setups = [[role, s["description"]] for role, s in preset.get("setups", {}).items()]
        settings = [[k, json.dumps(preset.get(k))] for k in SETTINGS]
        blocks += [
            Block("heading", (3, tier.name)),
            Block("para", f"Run directory: {_where(tier.run_dir, out_dir)}."),
            Block("para", f"{preset['description']}."),
            Block("table", (["Role", "Model and data"], setups)),
            Block("table", (["Setting", "Value"], settings)),
            Block(
                "para",
                "Deviations from the paper's setup (§3.4: NIN/VGG on CIFAR-10, batch 128, "
                "200 epochs, BN and dropout, learning rates from a grid):",
            ),
            Block("items", list(preset.get("deviations", [])) or ["none"]),
        ]
    return blocks


def write_report(out_dir: Path, tier_dirs: Sequence[Path] = ()) -> tuple[Path, Path]:
    """Write ``out_dir/report.md`` and ``out_dir/report.html`` (atomically) over ``out_dir``'s
    reproduction and ``tier_dirs``; return their paths."""
    out_dir = Path(out_dir)
    if not tier_dirs and not out_dir.is_dir():
        raise FileNotFoundError(f"--out directory {out_dir} does not exist; run experiments first")
    blocks = build(out_dir, tier_dirs)
    out_dir.mkdir(parents=True, exist_ok=True)
    md, page = out_dir / "report.md", out_dir / "report.html"
    files.write_text(md, to_markdown(blocks))
    files.write_text(page, to_html(blocks))
    return md, page
