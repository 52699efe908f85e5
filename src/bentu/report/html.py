"""Render a :class:`~bentu.report.builder.Report` as one self-contained HTML page."""

from __future__ import annotations

import html
import re
from typing import Any

from bentu.report.builder import Report
from bentu.report.fonts import embedded_font_css
from bentu.i18n import is_zh

__all__ = ["render_html"]

_CSS = """
body{font-family:"bentu-cjk",-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"PingFang SC","Microsoft YaHei",
"Noto Sans CJK SC",sans-serif;
max-width:1080px;margin:2rem auto;padding:0 1rem;color:#1d2329;line-height:1.5}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{border-bottom:2px solid #d0d7de;padding-bottom:.2rem;margin-top:2.2rem}
.sub{color:#57606a}table{border-collapse:collapse;margin:.6rem 0;font-size:.9rem}
td,th{border:1px solid #d0d7de;padding:.25rem .6rem;text-align:left}th{background:#f6f8fa}
td.num{text-align:right;font-variant-numeric:tabular-nums}figure{display:inline-block;margin:.5rem 1rem .5rem 0}
figcaption{font-size:.85rem;color:#57606a;max-width:520px}.note{background:#fff8c5;border-left:4px solid #d4a72c;
padding:.4rem .8rem;margin:.6rem 0}nav a{margin-right:.8rem;font-size:.9rem;white-space:nowrap}
td{vertical-align:top;overflow-wrap:anywhere}caption{text-align:left;color:#57606a;font-size:.85rem}
.verdict{border-radius:6px;padding:.8rem 1rem;margin:.8rem 0;font-size:1.05rem}
.verdict b{font-size:1.25rem;margin-right:.6rem}.verdict.blocked{background:#ffebe9;border:2px solid #cf222e}
.verdict.ready_for_review{background:#dafbe1;border:2px solid #1a7f37}
.badge{display:inline-block;white-space:nowrap;border-radius:1rem;padding:0 .55rem;font-size:.82rem;font-weight:600}
.b-fail{background:#ffebe9;color:#a40e26}.b-needs_human_review{background:#fff8c5;color:#7d4e00}
.b-pass{background:#dafbe1;color:#116329}.b-not_applicable{background:#eaeef2;color:#57606a}
table.checklist td:first-child{white-space:nowrap}table.checklist{width:100%}
table.checklist td.small{font-size:.8rem;color:#57606a}
"""


def _cell(v: Any) -> str:
    if isinstance(v, float):
        return f'<td class="num">{v:.4f}</td>' if abs(v) < 1e6 else f'<td class="num">{v:.4g}</td>'
    if isinstance(v, int) and not isinstance(v, bool):
        return f'<td class="num">{v:,}</td>'
    return f"<td>{html.escape('' if v is None else str(v))}</td>"


def _css_width(png_b64: str, dpi: int = 110) -> int:
    """The figure's width in CSS pixels at the dpi it was drawn with, so its text keeps its point size."""
    import base64
    import struct

    head = base64.b64decode(png_b64[:32])
    return round(struct.unpack(">I", head[16:20])[0] * 96 / dpi)


def _block(b) -> str:
    cap = f"<figcaption>{html.escape(b.caption)}</figcaption>" if b.caption else ""
    if b.kind == "paragraph":
        return f"<p>{html.escape(b.content)}</p>"
    if b.kind == "note":
        return f'<div class="note">{html.escape(b.content)}</div>'
    if b.kind == "figure":
        return (f'<figure><img alt="{html.escape(b.caption or "")}" src="data:image/png;base64,{b.content}" '
                f'width="{_css_width(b.content)}" style="max-width:100%;height:auto">{cap}</figure>')
    if b.kind == "verdict":
        v = b.content
        detail = f"<div>{html.escape(v['detail'])}</div>" if v.get("detail") else ""
        return (f'<div class="verdict {html.escape(v["status"])}"><b>{html.escape(v["headline"])}</b>{detail}</div>')
    if b.kind == "checklist":
        head = "".join(f"<th>{html.escape(str(h))}</th>" for h in b.content["header"])
        body = []
        for row in b.content["rows"]:
            badge = f'<span class="badge b-{html.escape(row["verdict"])}">{html.escape(row["label"])}</span>'
            cells = "".join(f'<td class="small">{html.escape(str(c))}</td>' if i == len(row["cells"]) - 1 and row.get("small_last")
                            else f"<td>{html.escape('' if c is None else str(c))}</td>" for i, c in enumerate(row["cells"]))
            body.append(f"<tr><td>{badge}</td>{cells}</tr>")
        caption = f"<caption>{html.escape(b.caption)}</caption>" if b.caption else ""
        return f'<table class="checklist">{caption}<tr>{head}</tr>{"".join(body)}</table>'
    if b.kind == "kv":
        rows = "".join(f"<tr><th>{html.escape(str(k))}</th>{_cell(v)}</tr>" for k, v in b.content.items())
        return f"<table>{rows}</table>" + (f"<p class='sub'>{html.escape(b.caption)}</p>" if b.caption else "")
    if b.kind == "table":
        head = "".join(f"<th>{html.escape(str(h))}</th>" for h in b.content["header"])
        body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in b.content["rows"])
        caption = f"<caption>{html.escape(b.caption)}</caption>" if b.caption else ""
        return f"<table>{caption}<tr>{head}</tr>{body}</table>"
    raise ValueError(f"unknown block kind {b.kind!r}")


def render_html(report: Report, *, embed_font: bool = True) -> str:
    """One HTML page with every figure embedded (no external files or network access).

    With ``embed_font`` the page carries a subset of Noto Sans CJK SC holding exactly the
    characters it shows, so its Chinese renders on a machine with no CJK font installed.
    """
    lang = "zh-CN" if is_zh(report.lang) else "en"
    nav = "".join(f'<a href="#{html.escape(s.key)}">{html.escape(s.title)}</a>' for s in report.sections)
    body = [f"<h1>{html.escape(report.title)}</h1><p class='sub'>{html.escape(report.subtitle)}</p><nav>{nav}</nav>"]
    for s in report.sections:
        body.append(f'<section id="{html.escape(s.key)}"><h2>{html.escape(s.title)}</h2>')
        body.extend(_block(b) for b in s.blocks)
        body.append("</section>")
    text = "\n".join(body)
    font = embedded_font_css(html.unescape(_TAGS.sub(" ", _PNG.sub("", text)))) if embed_font else ""
    head = (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
            f"<title>{html.escape(report.title)}</title><style>{font}{_CSS}</style></head><body>")
    return head + "\n" + text + "\n</body></html>"


_PNG = re.compile(r"data:image/png;base64,[A-Za-z0-9+/=]+")
_TAGS = re.compile(r"<[^>]+>")
