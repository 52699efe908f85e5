"""Render a :class:`~bentu.report.builder.Report` as one self-contained HTML page."""

from __future__ import annotations

import html
from typing import Any

from bentu.report.builder import Report

__all__ = ["render_html"]

_CSS = """
body{font-family:-apple-system,"Segoe UI","PingFang SC","Microsoft YaHei","Noto Sans CJK SC",sans-serif;
max-width:1080px;margin:2rem auto;padding:0 1rem;color:#1d2329;line-height:1.5}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{border-bottom:2px solid #d0d7de;padding-bottom:.2rem;margin-top:2.2rem}
.sub{color:#57606a}table{border-collapse:collapse;margin:.6rem 0;font-size:.9rem}
td,th{border:1px solid #d0d7de;padding:.25rem .6rem;text-align:left}th{background:#f6f8fa}
td.num{text-align:right;font-variant-numeric:tabular-nums}figure{display:inline-block;margin:.5rem 1rem .5rem 0}
figcaption{font-size:.85rem;color:#57606a;max-width:520px}.note{background:#fff8c5;border-left:4px solid #d4a72c;
padding:.4rem .8rem;margin:.6rem 0}nav a{margin-right:.8rem;font-size:.9rem}
"""


def _cell(v: Any) -> str:
    if isinstance(v, float):
        return f'<td class="num">{v:.4f}</td>' if abs(v) < 1e6 else f'<td class="num">{v:.4g}</td>'
    if isinstance(v, int) and not isinstance(v, bool):
        return f'<td class="num">{v:,}</td>'
    return f"<td>{html.escape('' if v is None else str(v))}</td>"


def _block(b) -> str:
    cap = f"<figcaption>{html.escape(b.caption)}</figcaption>" if b.caption else ""
    if b.kind == "paragraph":
        return f"<p>{html.escape(b.content)}</p>"
    if b.kind == "note":
        return f'<div class="note">{html.escape(b.content)}</div>'
    if b.kind == "figure":
        return f'<figure><img alt="{html.escape(b.caption or "")}" src="data:image/png;base64,{b.content}" width="480">{cap}</figure>'
    if b.kind == "kv":
        rows = "".join(f"<tr><th>{html.escape(str(k))}</th>{_cell(v)}</tr>" for k, v in b.content.items())
        return f"<table>{rows}</table>" + (f"<p class='sub'>{html.escape(b.caption)}</p>" if b.caption else "")
    if b.kind == "table":
        head = "".join(f"<th>{html.escape(str(h))}</th>" for h in b.content["header"])
        body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in b.content["rows"])
        caption = f"<caption>{html.escape(b.caption)}</caption>" if b.caption else ""
        return f"<table>{caption}<tr>{head}</tr>{body}</table>"
    raise ValueError(f"unknown block kind {b.kind!r}")


def render_html(report: Report) -> str:
    """One HTML page with every figure embedded (no external files or network access)."""
    lang = "zh-CN" if report.lang == "zh" else "en"
    nav = "".join(f'<a href="#{html.escape(s.key)}">{html.escape(s.title)}</a>' for s in report.sections)
    parts = [
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">',
        f"<title>{html.escape(report.title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(report.title)}</h1><p class='sub'>{html.escape(report.subtitle)}</p><nav>{nav}</nav>",
    ]
    for s in report.sections:
        parts.append(f'<section id="{html.escape(s.key)}"><h2>{html.escape(s.title)}</h2>')
        parts.extend(_block(b) for b in s.blocks)
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts)
