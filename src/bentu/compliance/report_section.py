"""Rows of the compliance table for the HTML report and the model cards."""

from __future__ import annotations

import json
from typing import Any

from bentu.i18n import is_zh, normalize_lang

__all__ = ["compliance_summary", "VERDICT_LABELS", "HEADERS"]

VERDICT_LABELS = {
    "fail": {"en": "fail", "zh": "不通过"},
    "needs_human_review": {"en": "needs human review", "zh": "需人工复核"},
    "pass": {"en": "pass", "zh": "通过"},
    "not_applicable": {"en": "not applicable", "zh": "不适用"},
}
#: Column keys of a row, in order, with their header text per language.
HEADERS = {
    "rule": {"en": "rule", "zh": "规则"},
    "citation": {"en": "citation", "zh": "出处"},
    "title": {"en": "title", "zh": "要求"},
    "verdict": {"en": "verdict", "zh": "结论"},
    "evidence": {"en": "evidence", "zh": "证据"},
}
_ORDER = {v: i for i, v in enumerate(VERDICT_LABELS)}


def _observed(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "…"


def _evidence(items: list[dict], lang: str) -> str:
    absent = "不存在" if is_zh(lang) else "absent"
    return "; ".join(f"{e['ref']} = {_observed(e['observed'])}" if e.get("present") else f"{e['ref']} {absent}"
                     for e in items)


def compliance_summary(compliance: dict, lang: str, *, include_not_applicable: bool = True) -> list[dict]:
    """Turn ``compliance.json`` into table rows, failures first.

    Parameters
    ----------
    compliance : dict
        The result of :func:`bentu.compliance.engine.evaluate_compliance`.
    lang : {"en", "zh"}
        Language of the header keys, titles and verdict labels.
    include_not_applicable : bool, default True
        Keep rules that do not apply to this run.

    Returns
    -------
    list of dict
        One dict per rule, keyed by the localized headers of :data:`HEADERS` (rule, citation,
        title, verdict, evidence — in this order), so ``list(rows[0])`` is the table header.
        A citation ends with ``[S]`` or ``[U]`` when the rule rests on a secondary or
        unverified source.
    """
    lang = normalize_lang(lang)
    verdicts = [v for v in compliance.get("verdicts", [])
                if include_not_applicable or v.get("verdict") != "not_applicable"]
    rows = []
    for v in sorted(verdicts, key=lambda v: _ORDER.get(v.get("verdict"), 9)):
        cite = v.get("citation") or {}
        basis = f" [{v['basis']}]" if v.get("basis") in ("S", "U") else ""
        title = (v.get("i18n") or {}).get("title", {}).get(lang) or v.get("title", "")
        label = VERDICT_LABELS.get(v.get("verdict"), {}).get(lang, v.get("verdict"))
        values = [v.get("rule"), f"{cite.get('law', '')} {cite.get('article', '')}".strip() + basis, title, label,
                  _evidence(v.get("evidence") or [], lang)]
        rows.append({HEADERS[k][lang]: val for k, val in zip(HEADERS, values)})
    return rows
