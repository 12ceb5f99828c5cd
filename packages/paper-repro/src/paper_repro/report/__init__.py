"""The report over one or more tiers: :func:`write_report` (see :mod:`.document`)."""

from __future__ import annotations

from .document import build, write_report
from .render import Block, to_html, to_markdown
from .tiers import agreement

__all__ = ["Block", "agreement", "build", "to_html", "to_markdown", "write_report"]
