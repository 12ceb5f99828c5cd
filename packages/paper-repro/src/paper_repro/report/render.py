"""The report as a list of blocks, rendered twice: as Markdown and as a self-contained HTML page
(one mechanism, two syntaxes; the HTML needs no Markdown converter and references the figures by
relative path)."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from ..rules import VERDICTS


@dataclass(frozen=True)
class Block:
    """``kind`` ∈ heading (level, text), para (text), table (header, rows), image (path, alt),
    items (list of texts)."""

    kind: str
    data: Any


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
