"""A report as data: sections of paragraphs, tables and figures, rendered to one HTML page.

Application code adds sections in the run's language; :func:`bentu.report.html.render_html`
turns the report into a self-contained page (figures embedded as base64 PNG).
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Report", "Section", "Block"]


@dataclass
class Block:
    kind: str  # "paragraph" | "table" | "figure" | "kv" | "note" | "verdict" | "checklist"
    content: Any
    caption: str | None = None


@dataclass
class Section:
    key: str
    title: str
    blocks: list[Block] = field(default_factory=list)

    def paragraph(self, text: str) -> "Section":
        self.blocks.append(Block("paragraph", text))
        return self

    def note(self, text: str) -> "Section":
        """A highlighted remark (a caveat, an estimate, a limitation)."""
        self.blocks.append(Block("note", text))
        return self

    def table(self, header: list[str], rows: list[list[Any]], caption: str | None = None) -> "Section":
        self.blocks.append(Block("table", {"header": header, "rows": rows}, caption))
        return self

    def verdict(self, status: str, headline: str, detail: str = "") -> "Section":
        """The sign-off status line: ``status`` is "blocked" or "ready_for_review"."""
        self.blocks.append(Block("verdict", {"status": status, "headline": headline, "detail": detail}))
        return self

    def checklist(self, header: list[str], rows: list[dict[str, Any]], caption: str | None = None) -> "Section":
        """Items a reviewer works through: each row ``{"verdict": key, "label": text, "cells": [...]}``."""
        self.blocks.append(Block("checklist", {"header": header, "rows": rows}, caption))
        return self

    def kv(self, items: dict[str, Any], caption: str | None = None) -> "Section":
        self.blocks.append(Block("kv", dict(items), caption))
        return self

    def figure(self, fig: Any, caption: str | None = None) -> "Section":
        """Embed a matplotlib figure (closed afterwards) or raw PNG bytes."""
        if isinstance(fig, (bytes, bytearray)):
            png = bytes(fig)
        else:
            import matplotlib.pyplot as plt

            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
            plt.close(fig)
            png = buf.getvalue()
        self.blocks.append(Block("figure", base64.b64encode(png).decode("ascii"), caption))
        return self


@dataclass
class Report:
    lang: str
    title: str
    subtitle: str = ""
    sections: list[Section] = field(default_factory=list)

    def section(self, key: str, title: str, *, first: bool = False) -> Section:
        """Return the section ``key``, creating it (in order of first use, or at the top with
        ``first=True``) if needed."""
        for s in self.sections:
            if s.key == key:
                return s
        s = Section(key, title)
        self.sections.insert(0 if first else len(self.sections), s)
        return s
