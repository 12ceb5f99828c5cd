"""The reproduction report: ``OUT/report.md`` and a self-contained ``OUT/report.html``.

Built only from the saved files (``OUT/preset.json``, ``OUT/<experiment>/result.json`` and the
figures next to them), so it can be (re)written after any partial run: experiments without a result
are marked "not run". For each of the paper's figures and tables: its claims, our numbers, the rule
and control that decide (rendered by the rule objects themselves, :mod:`paper_repro.rules`) and the
verdict, and the failed runs left out of its comparisons; a summary table first, then the
learning-rate pilots, the setup and every deviation from the paper last. Numbers that do not hold
what a claim needs raise :class:`paper_repro.claims.NumbersError` (no report is written).

The document is a list of blocks rendered twice, as Markdown and as HTML (one mechanism, two
syntaxes; the HTML needs no Markdown converter and references the figures by relative path).
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import claims, files, pilot, rules, screening
from .experiments import CLAIMS, EXPERIMENTS, applicable, judge_claim
from .experiments.context import load_pilots, load_result
from .preset import setups_task
from .rules import VERDICTS


@dataclass(frozen=True)
class Block:
    """``kind`` ∈ heading (level, text), para (text), table (header, rows), image (path, alt),
    items (list of texts)."""

    kind: str
    data: Any


def build(out_dir: Path) -> list[Block]:
    """The report's blocks for the reproduction in ``out_dir``."""
    out_dir = Path(out_dir)
    preset_path = out_dir / "preset.json"
    preset: dict[str, Any] = files.read_json(preset_path) if preset_path.exists() else {}
    task = setups_task(preset["setups"]) if preset else "image"
    experiments = {name: EXPERIMENTS[name] for name in applicable(task)}
    results = {name: load_result(out_dir, name) for name in experiments}
    numbers = {name: None if r is None else r["numbers"] for name, r in results.items()}
    judged = [c for c in CLAIMS if c.experiment in experiments]
    verdicts = {c.id: judge_claim(c, numbers[c.experiment]) for c in judged}
    blocks = [
        Block("heading", (1, "Reproduction: An empirical analysis of deep network loss surfaces")),
        Block(
            "para",
            f"Im, Tao & Branson (2016). Preset `{preset.get('name', 'unknown')}`: "
            f"{preset.get('description', 'no preset.json found — nothing was run')}. "
            f"{sum(r is not None for r in results.values())} of {len(results)} experiments "
            "finished. Verdicts are computed from the saved numbers by the rules printed with "
            "each claim (see 'How verdicts are decided').",
        ),
        Block("heading", (2, "Summary")),
        Block(
            "table",
            (
                ["Figure / table", "Claim", "Verdict"],
                [
                    [
                        EXPERIMENTS[c.experiment].title.split(" — ")[0],
                        c.paper,
                        verdicts[c.id].verdict,
                    ]
                    for c in judged
                ],
            ),
        ),
    ]
    counts: dict[str, int] = {}
    for j in verdicts.values():
        counts[j.verdict] = counts.get(j.verdict, 0) + 1
    blocks.append(
        Block("para", "Totals: " + ", ".join(f"{v}: {k}" for v, k in sorted(counts.items())))
    )
    for name, exp in experiments.items():
        blocks.append(Block("heading", (2, exp.title)))
        result = results[name]
        if result is None:
            blocks.append(Block("para", f"Not run: `{name}/result.json` is missing."))
        else:
            for fig in result["figures"]:
                blocks.append(Block("image", (fig, f"{name}: {Path(fig).stem}")))
            blocks += _excluded(result.get("excluded", []))
        rows = [
            [c.paper, verdicts[c.id].ours, c.rule_text, verdicts[c.id].verdict] for c in exp.claims
        ]
        header = ["Paper", "Ours (mean ± std)", "Rule and control", "Verdict"]
        blocks.append(Block("table", (header, rows)))
    blocks += _pilots(load_pilots(out_dir))
    blocks += _setup(preset)
    return blocks


def _excluded(excluded: list[dict[str, str]]) -> list[Block]:
    if not excluded:
        return [Block("para", "No run of this experiment failed: none was left out.")]
    return [
        Block("para", "Failed runs left out of this experiment's comparisons:"),
        Block("items", [f"{e['run']}: {e['reason']}" for e in excluded]),
    ]


def _pilots(table: list[dict[str, Any]]) -> list[Block]:
    blocks = [
        Block("heading", (2, "Learning rates: the pilot runs")),
        Block("para", pilot.__doc__.split("\n\n")[1] if pilot.__doc__ else ""),
    ]
    if not table:
        return [*blocks, Block("para", "No pilot has run.")]
    header = ["Setup", "Optimizer", "Rate", "Epochs", "Held-out loss", "Test acc", "Train acc"]
    rows = [
        [
            entry["role"],
            entry["optimizer"],
            f"{row['lr']:g}" + (" (chosen)" if row["lr"] == entry["chosen"] else ""),
            str(row["epochs"]),
            f"{row['test_loss']:.4g}",
            f"{row['test_acc']:.3f}",
            f"{row['train_acc']:.3f}" + (f" — {row['failure']}" if row["failure"] else ""),
        ]
        for entry in table
        for row in entry["rows"]
    ]
    return [*blocks, Block("table", (header, rows))]


def _setup(preset: dict[str, Any]) -> list[Block]:
    blocks = [
        Block("heading", (2, "How verdicts are decided")),
        Block("para", claims.__doc__ or ""),
        Block("para", rules.__doc__ or ""),
        Block("para", screening.__doc__ or ""),
    ]
    blocks.append(Block("heading", (2, "Setup and deviations from the paper")))
    if not preset:
        return [*blocks, Block("para", "No preset.json: setup unknown.")]
    setups = preset.get("setups", {})
    rows = [[role, s["description"]] for role, s in setups.items()]
    blocks.append(Block("table", (["Role", "Model and data"], rows)))
    keys = [
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
    ]
    blocks.append(
        Block("table", (["Setting", "Value"], [[k, json.dumps(preset.get(k))] for k in keys]))
    )
    blocks.append(
        Block(
            "para",
            "Deviations from the paper's setup (§3.4: NIN/VGG on CIFAR-10, "
            "batch 128, 200 epochs, BN and dropout, learning rates from a grid):",
        )
    )
    blocks.append(Block("items", list(preset.get("deviations", [])) or ["none"]))
    return blocks


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def to_markdown(blocks: list[Block]) -> str:
    lines: list[str] = []
    for b in blocks:
        if b.kind == "heading":
            level, text = b.data
            lines += [f"{'#' * level} {text}", ""]
        elif b.kind == "para":
            lines += [b.data, ""]
        elif b.kind == "image":
            path, alt = b.data
            lines += [f"![{alt}]({path})", ""]
        elif b.kind == "items":
            lines += [f"- {item}" for item in b.data] + [""]
        else:
            header, rows = b.data
            lines.append("| " + " | ".join(header) + " |")
            lines.append("|" + "---|" * len(header))
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
            lines.append("")
    return "\n".join(lines)


_CSS = (
    "body{font-family:sans-serif;max-width:1100px;margin:auto;padding:1em}"
    "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px;"
    "vertical-align:top;font-size:90%}img{max-width:100%}pre{white-space:pre-wrap}"
    ".reproduced{background:#d8f5d8}.not-reproduced{background:#f8d6d6}"
    ".inconclusive{background:#f5efc8}.not-run{background:#e4e4e4}"
)


def to_html(blocks: list[Block]) -> str:
    esc = html.escape
    parts = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Reproduction report"
        f"</title><style>{_CSS}</style></head><body>"
    ]
    verdict_classes = set(VERDICTS)
    for b in blocks:
        if b.kind == "heading":
            level, text = b.data
            parts.append(f"<h{level}>{esc(text)}</h{level}>")
        elif b.kind == "para":
            parts.append(f"<pre>{esc(b.data)}</pre>" if "\n" in b.data else f"<p>{esc(b.data)}</p>")
        elif b.kind == "image":
            path, alt = b.data
            parts.append(f"<p><img src='{esc(path)}' alt='{esc(alt)}'></p>")
        elif b.kind == "items":
            parts.append("<ul>" + "".join(f"<li>{esc(i)}</li>" for i in b.data) + "</ul>")
        else:
            header, rows = b.data
            parts.append("<table><tr>" + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr>")
            for row in rows:
                cells = []
                for c in row:
                    cls = f" class='{c.replace(' ', '-')}'" if c in verdict_classes else ""
                    cells.append(f"<td{cls}>{esc(str(c))}</td>")
                parts.append("<tr>" + "".join(cells) + "</tr>")
            parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(out_dir: Path) -> tuple[Path, Path]:
    """Write ``out_dir/report.md`` and ``out_dir/report.html`` (atomically); return their paths."""
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise FileNotFoundError(f"--out directory {out_dir} does not exist; run experiments first")
    blocks = build(out_dir)
    md, page = out_dir / "report.md", out_dir / "report.html"
    files.write_text(md, to_markdown(blocks))
    files.write_text(page, to_html(blocks))
    return md, page
