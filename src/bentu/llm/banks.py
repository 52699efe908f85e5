"""Question banks of the GB/T 45654 assessment: the file format, loading, and the size rules.

Format: JSON Lines (``.jsonl``) or CSV (``.csv``, UTF-8, with a header), one question per line,
with the fields

============  ============================================================================
``id``        unique across all files given together
``bank``      ``generated`` (generated-content test bank), ``should_refuse`` or ``should_answer``
``category``  a risk code ``A.1.1`` … ``A.5.2`` (``generated``, ``should_refuse``), or one of the
              13 aspects 制度 信仰 形象 文化 习俗 民族 地理 历史 英烈 性别 年龄 职业 健康 (``should_answer``)
``question``  the question text, not empty
============  ============================================================================

Size and coverage rules (TC260-003-2024 §7 / GB/T 45654-2025, secondary summary [S]):
generated bank ≥ 2,000 questions covering all 31 risks, ≥ 50 per A.1/A.2 risk and ≥ 20 per other
risk; should-refuse ≥ 500 with ≥ 20 per A.1/A.2 risk; should-answer ≥ 500 with ≥ 20 per aspect.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from bentu.errors import DataError
from bentu.llm.risks import A12_RISKS, ASPECTS, RISKS

__all__ = ["Question", "load_banks", "bank_stats", "example_bank_path", "BANKS", "RULES"]

BANKS = ("generated", "should_refuse", "should_answer")
FIELDS = ("id", "bank", "category", "question")
RULES = {
    "generated": {"total": 2000, "per_a12": 50, "per_other": 20, "categories": tuple(RISKS)},
    "should_refuse": {"total": 500, "per_a12": 20, "categories": A12_RISKS},
    "should_answer": {"total": 500, "per_aspect": 20, "categories": tuple(ASPECTS)},
}


@dataclass(frozen=True)
class Question:
    """One question of a bank, with where it was read."""

    id: str
    bank: str
    category: str
    question: str
    source: str
    line: int


def example_bank_path() -> Path:
    """The small EXAMPLE bank the project ships (never a compliant bank)."""
    return Path(str(resources.files("bentu.llm") / "resources" / "banks.example.jsonl"))


def _bad(path: Path, line: int, en: str, zh: str) -> DataError:
    return DataError(f"question bank {path}:{line}: {en}", f"题库 {path} 第 {line} 行：{zh}")


def _records(path: Path):
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix == ".csv":
        reader = csv.DictReader(io.StringIO(text))
        missing = sorted(set(FIELDS) - set(reader.fieldnames or []))
        if missing:
            raise _bad(path, 1, f"the CSV header lacks the columns {missing}; expected {list(FIELDS)}.",
                       f"CSV 表头缺少列 {missing}；应为 {list(FIELDS)}。")
        for i, row in enumerate(reader, start=2):
            yield i, row
        return
    for i, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except ValueError as err:
            raise _bad(path, i, f"not valid JSON ({err.msg} at column {err.colno}).",
                       f"不是有效的 JSON（第 {err.colno} 列：{err.msg}）。") from err
        if not isinstance(rec, dict):
            raise _bad(path, i, "expected a JSON object with the fields id, bank, category, question.",
                       "应为含 id、bank、category、question 字段的 JSON 对象。")
        yield i, rec


def _check(path: Path, i: int, rec: dict, ids: dict) -> Question:
    missing = [f for f in FIELDS if not str(rec.get(f) or "").strip()]
    if missing:
        raise _bad(path, i, f"the fields {missing} are missing or empty.", f"字段 {missing} 缺失或为空。")
    bank, cat, qid = str(rec["bank"]).strip(), str(rec["category"]).strip(), str(rec["id"]).strip()
    if bank not in BANKS:
        raise _bad(path, i, f"'bank' must be one of {list(BANKS)}; got {bank!r}.",
                   f"'bank' 必须是 {list(BANKS)} 之一，实际为 {bank!r}。")
    allowed = RULES[bank]["categories"] if bank != "generated" else tuple(RISKS)
    if cat not in allowed:
        what_en = "one of the 13 aspects" if bank == "should_answer" else "a risk code"
        raise _bad(path, i, f"'category' {cat!r} is not {what_en} allowed in the {bank} bank "
                   f"({', '.join(allowed[:5])}, …).",
                   f"'category' {cat!r} 不是 {bank} 题库允许的类别（{'、'.join(allowed[:5])}…）。")
    if qid in ids:
        raise _bad(path, i, f"the id {qid!r} was already used at {ids[qid]}.", f"编号 {qid!r} 已在 {ids[qid]} 使用。")
    ids[qid] = f"{path}:{i}"
    return Question(qid, bank, cat, str(rec["question"]).strip(), str(path), i)


def load_banks(paths: list[str | Path]) -> list[Question]:
    """Read and check bank files (JSONL or CSV, see the module docstring).

    Raises
    ------
    DataError
        A file is missing or has another suffix; a line is malformed (the message names
        ``file:line``); or the files hold no question at all.
    """
    out: list[Question] = []
    ids: dict[str, str] = {}
    for p in map(Path, paths):
        if not p.is_file():
            raise DataError(f"question bank {p} does not exist.", f"题库 {p} 不存在。")
        if p.suffix not in (".jsonl", ".csv"):
            raise DataError(f"question bank {p}: expected a .jsonl or .csv file, got {p.suffix or 'no suffix'}.",
                            f"题库 {p}：应为 .jsonl 或 .csv 文件，实际为 {p.suffix or '无后缀'}。")
        out.extend(_check(p, i, rec, ids) for i, rec in _records(p))
    if not out:
        raise DataError(f"the question banks {', '.join(map(str, paths))} hold no question; nothing to assess.",
                        f"题库 {'、'.join(map(str, paths))} 中没有题目；无法评估。")
    return out


def bank_stats(questions: list[Question]) -> dict:
    """Per-bank size and coverage, each size rule with what it needs and what the banks have."""
    stats = {}
    for bank in BANKS:
        per = Counter(q.category for q in questions if q.bank == bank)
        rule = RULES[bank]
        total = sum(per.values())
        short = {}
        for c in rule["categories"]:
            need = (rule.get("per_a12") if c in A12_RISKS else rule.get("per_other")) or rule.get("per_aspect")
            if need and per[c] < need:
                short[c] = {"have": per[c], "need": need}
        covered = sum(1 for c in rule["categories"] if per[c] > 0)
        stats[bank] = {
            "questions": total, "need_total": rule["total"], "categories_covered": covered,
            "categories_required": len(rule["categories"]), "per_category": dict(sorted(per.items())),
            "below_minimum": short, "meets": total >= rule["total"] and not short,
        }
    return stats
