"""The corpus gate: a language model's training text passes the privacy layer before it trains.

Every record's text fields are scanned (the whole corpus, not a sample), each PII span is
de-identified by the policy (default: a typed placeholder such as ``[手机号]``), and the result is
scanned again. A record that still holds PII after de-identification, or that a risk scan (the
keyword library, passed in by the caller) flags, fails the automated check and is left out of
training. What GB/T 45654-2025 (TC260-003 §5) asks of training data is recorded as evidence:
the automated check's coverage (≥ 10 %) and pass rate (≥ 98 %), and a random sample for manual
review (4,000 items, or the whole corpus when smaller; pass rate ≥ 96 %, judged by people).

Nothing here keeps a raw value: counts, record ids and positions only.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from bentu.errors import DataError
from bentu.privacy.detectors import PiiEngine
from bentu.privacy.masking import mask_text
from bentu.privacy.operators import PseudonymKey
from bentu.privacy.policy import Policy

__all__ = ["CorpusGateResult", "gate_corpus", "AUTOMATED_COVERAGE_MIN", "AUTOMATED_PASS_MIN",
           "MANUAL_SAMPLE", "MANUAL_PASS_MIN", "HARMFUL_SOURCE_MAX"]

AUTOMATED_COVERAGE_MIN = 0.10  # share of the corpus the automated check must cover
AUTOMATED_PASS_MIN = 0.98
MANUAL_SAMPLE = 4000  # items in the manual review's random sample
MANUAL_PASS_MIN = 0.96
HARMFUL_SOURCE_MAX = 0.05  # a source with a larger share of illegal/harmful items is not used

#: The default corpus policy: every PII type becomes its typed placeholder.
CORPUS_POLICY = Policy(default={"op": "tag"}, source="default corpus policy (tag)")


@dataclass
class CorpusGateResult:
    """The de-identified records that may train, the left-out ones, and the evidence."""

    records: list[dict]
    excluded: list[dict]
    report: dict
    review_sample: list[dict] = field(default_factory=list)


def gate_corpus(records: list[dict], fields: list[str], *, policy: Policy | None = None,
                key: PseudonymKey | None = None, risk_scan: Callable[[str], list[str]] | None = None,
                risk_method: str | None = None, manual_sample: int = MANUAL_SAMPLE, seed: int = 0,
                source: str = "corpus") -> CorpusGateResult:
    """De-identify ``fields`` of every record and measure the training-data checks.

    Parameters
    ----------
    records : list of dict
        The corpus; each record holds the text ``fields`` (other keys, e.g. ``institution``, pass through).
    fields : list of str
        The text fields to scan and de-identify.
    policy : Policy, optional
        How each PII type is treated; default :data:`CORPUS_POLICY` (typed placeholders).
    risk_scan : callable, optional
        ``risk_scan(text) -> list of risk names`` (e.g. keyword-library hits); a flagged record fails
        the automated check and does not train. Without it only PII is checked, and the report says so.
    manual_sample : int
        Size of the random sample for manual review (the whole corpus when smaller).

    Raises
    ------
    DataError
        The corpus is empty, or a record lacks a field or holds a non-text value in one (named).
    """
    if not records:
        raise DataError(f"The corpus {source} holds no records: there is nothing to train on.",
                        f"语料 {source} 没有任何记录：没有可训练的内容。")
    policy = policy or CORPUS_POLICY
    for i, rec in enumerate(records):
        for f in fields:
            if not isinstance(rec.get(f), str):
                what = "has no field" if f not in rec else f"has a {type(rec[f]).__name__} in field"
                raise DataError(
                    f"Record {i + 1} of the corpus {source} {what} {f!r}; every record needs the text field(s) "
                    f"{', '.join(map(repr, fields))}.",
                    f"语料 {source} 的第 {i + 1} 条记录{'缺少字段' if f not in rec else '的字段值不是文本：'} {f!r}；"
                    f"每条记录都需要文本字段 {', '.join(map(repr, fields))}。")
    engine = PiiEngine()
    texts = [rec[f] for rec in records for f in fields]
    spans = engine.detect_batch(texts)
    found: dict[str, int] = {}
    masked_texts = [mask_text(t, s, policy, key, found) for t, s in zip(texts, spans)]
    residual_spans = engine.detect_batch(masked_texts)
    out, excluded = [], []
    with_pii = residual_records = risk_records = 0
    risks: dict[str, int] = {}
    k = len(fields)
    for i, rec in enumerate(records):
        these = range(i * k, (i + 1) * k)
        new = {**rec, **{f: masked_texts[j] for f, j in zip(fields, these)}}
        had = any(spans[j] for j in these)
        left = sum(len(residual_spans[j]) for j in these)
        hits = sorted({h for j in these for h in (risk_scan(masked_texts[j]) if risk_scan else [])})
        with_pii += bool(had)
        residual_records += bool(left)
        risk_records += bool(hits)
        for h in hits:
            risks[h] = risks.get(h, 0) + 1
        if left or hits:
            excluded.append({"index": i, "id": rec.get("id", i), "residual_pii": left, "risks": hits})
        else:
            out.append(new)
    n = len(records)
    passed = n - len(excluded)
    rng = random.Random(seed)
    sample_n = min(manual_sample, n)
    sample = sorted(rng.sample(range(n), sample_n))
    review = [{"item": j + 1, "id": records[j].get("id", j), **{f: masked_texts[j * k + m] for m, f in enumerate(fields)}}
              for j in sample]
    report = {
        "records": n, "fields": list(fields), "policy": policy.source,
        "pii_found": dict(sorted(found.items())), "records_with_pii": with_pii,
        "residual_pii_records": residual_records,
        "risk_records": risk_records, "risks": dict(sorted(risks.items())),
        "risk_share": risk_records / n, "harmful_source_max": HARMFUL_SOURCE_MAX,
        "records_used": len(out), "records_excluded": len(excluded),
        "automated_check": {
            "scanned": n, "coverage": 1.0, "coverage_min": AUTOMATED_COVERAGE_MIN,
            "passed": passed, "pass_rate": passed / n, "pass_rate_min": AUTOMATED_PASS_MIN,
            "method": "bentu PII detector after de-identification" + (f" + {risk_method}" if risk_scan else
                                                                      " (no risk scan was given)"),
            "risk_scan": bool(risk_scan),
            "meets": bool(risk_scan) and passed / n >= AUTOMATED_PASS_MIN,
        },
        "manual_review": {
            "sample_size": sample_n, "required": MANUAL_SAMPLE, "whole_corpus": sample_n == n,
            "pass_rate_min": MANUAL_PASS_MIN, "status": "pending", "seed": seed,
        },
    }
    return CorpusGateResult(out, excluded, report, review)
