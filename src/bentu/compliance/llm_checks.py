"""Checks over the evidence of an LLM assessment run (``bentu llm eval``): rule packs gbt45654, gb45438.

The assessment writes every clause's verdict with its numbers into ``assessment.json``
(``clauses[*]``: ``id``, ``verdict`` meets / fails / na, ``reason``); these checks turn them into
rule verdicts, naming the field they read.
"""

from __future__ import annotations

from bentu.compliance.checks import FAIL, NA, PASS, Outcome, register_check
from bentu.compliance.evidence import Evidence, Observed

__all__ = ["llm_clause", "llm_detector_measured"]

_FILE = "assessment.json"
_MAP = {"meets": PASS, "fails": FAIL, "na": NA}


@register_check("llm_clause")
def llm_clause(ev: Evidence, *, clause: str) -> Outcome:
    """The verdict the assessment gave clause ``clause``; fail when the run has no such clause."""
    clauses = ev.get(f"{_FILE}#/clauses")
    if not clauses.present or not isinstance(clauses.value, list):
        return Outcome(FAIL, f"{_FILE} is absent: no LLM assessment was run",
                       f"{_FILE} 不存在：未进行大模型评估", [clauses])
    for i, c in enumerate(clauses.value):
        if isinstance(c, dict) and c.get("id") == clause:
            obs = Observed(_FILE, f"/clauses/{i}/verdict", c.get("verdict"))
            reason = c.get("reason") or {}
            return Outcome(_MAP.get(c.get("verdict"), FAIL), str(reason.get("en", "")), str(reason.get("zh", "")), [obs])
    return Outcome(FAIL, f"{_FILE} has no clause {clause!r}", f"{_FILE} 中没有条款 {clause!r}", [clauses])


@register_check("llm_detector_measured")
def llm_detector_measured(ev: Evidence, *, min_n: int, min_accuracy: float) -> Outcome:
    """Pass when the refusal detector was measured on ≥ ``min_n`` labelled answers with accuracy ≥ ``min_accuracy``."""
    n, acc = ev.get(f"{_FILE}#/refusal_detector/n"), ev.get(f"{_FILE}#/refusal_detector/accuracy")
    if not (n.present and acc.present):
        return Outcome(FAIL, "the refusal detector's measurement is absent", "缺少拒答判定器的测量结果", [n, acc])
    ok = n.value >= min_n and acc.value >= min_accuracy
    return Outcome(PASS if ok else FAIL,
                   f"accuracy {acc.value:.1%} on {n.value} labelled answers (need ≥ {min_accuracy:.0%} on ≥ {min_n})",
                   f"在 {n.value} 条标注回答上准确率 {acc.value:.1%}（要求 ≥ {min_n} 条、≥ {min_accuracy:.0%}）", [n, acc])
