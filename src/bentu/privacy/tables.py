"""Column classification for tables (GB/T 37964-2019 vocabulary).

Each column is labelled ``direct_identifier`` (identifies a person on its own: name, ID number,
phone, card ...), ``quasi_identifier`` (identifies in combination: sex, age, birth date, region,
hukou ...), ``sensitive`` (what must be protected: income, diagnosis, religion ...) or
``other``, from its header (Chinese or English) and from a sample of its values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

from bentu.privacy import _person
from bentu.privacy.detectors import PiiEngine

__all__ = ["ColumnInfo", "classify_column", "classify_table", "CLASSES"]

CLASSES = ("direct_identifier", "quasi_identifier", "sensitive", "other")

# Header words → (class, PII type or None). Matched against the lower-cased header with
# separators removed; Chinese words match anywhere in the header.
_HEADER_RULES: list[tuple[str, str, str | None]] = [
    (r"idcard|idno|idnumber|identity|sfz|身份证|证件号|公民身份", "direct_identifier", "CN_ID_CARD"),
    (r"mobile|cellphone|phone|tel|telephone|手机|电话|联系方式|座机", "direct_identifier", "CN_PHONE"),
    (r"email|mail|邮箱|电子邮件", "direct_identifier", "EMAIL"),
    (r"bankcard|cardno|cardnumber|account(no|number)?|卡号|银行卡|账号|帐号|账户", "direct_identifier",
     "BANK_CARD"),
    (r"passport|护照", "direct_identifier", "CN_PASSPORT"),
    (r"plate|车牌", "direct_identifier", "CN_LICENSE_PLATE"),
    (r"uscc|creditcode|信用代码", "direct_identifier", "CN_USCC"),
    (r"^ip$|ipaddr|ipaddress|^ip_", "direct_identifier", "IP_ADDRESS"),
    (r"^(full)?name$|customername|clientname|patientname|realname|姓名|名字|客户名|患者名|联系人",
     "direct_identifier", "PERSON"),
    (r"address|addr|street|住址|地址|居住地", "direct_identifier", "ADDRESS"),
    (r"^sex$|gender|性别", "quasi_identifier", None),
    (r"^age|agegroup|ageband|年龄", "quasi_identifier", None),
    (r"birth|dob|出生", "quasi_identifier", None),
    (r"province|city|county|district|region|zip|postcode|省|城市|地区|区县|邮编", "quasi_identifier", None),
    (r"hukou|户籍|户口", "quasi_identifier", None),
    (r"ethnic|nation|民族", "quasi_identifier", None),
    (r"education|学历|occupation|job|职业|marital|婚姻", "quasi_identifier", None),
    (r"income|salary|收入|工资|diagnos|disease|诊断|疾病|病情|religio|宗教|health|健康|"
     r"balance|余额|debt|负债|credit(score)?$|征信|medical|病历", "sensitive", None),
]
_HEADER_RES = [(re.compile(p), c, t) for p, c, t in _HEADER_RULES]
_SEP = re.compile(r"[\s_\-.]+")
_DIRECT_TYPES = ("CN_ID_CARD", "CN_PHONE", "BANK_CARD", "CN_USCC", "EMAIL", "IP_ADDRESS",
                 "CN_PASSPORT", "CN_LICENSE_PLATE", "CN_LANDLINE", "PERSON", "ADDRESS")
_NAME_VALUE = re.compile("[\u4e00-\u9fff]{2,4}")


@dataclass
class ColumnInfo:
    """What was found in one column; never holds a raw value."""

    name: str
    cls: str
    reason: str
    sampled: int = 0
    pii: dict[str, dict] = field(default_factory=dict)  # type -> {"count", "rate"}
    main_type: str | None = None

    def to_dict(self) -> dict:
        return {"class": self.cls, "reason": self.reason, "sampled": self.sampled,
                "pii_types": self.pii, "main_type": self.main_type}


def _header_class(name: str) -> tuple[str, str | None] | None:
    key = _SEP.sub("", str(name).lower())
    for regex, cls, pii_type in _HEADER_RES:
        if regex.search(key):
            return cls, pii_type
    return None


def _looks_like_name(value: str) -> bool:
    """A cell that is exactly a Chinese name (surname + 1-2 characters)."""
    if not _NAME_VALUE.fullmatch(value):
        return False
    sl = _person._surname_len(value, 0)
    return bool(sl) and sl + 1 <= len(value) <= sl + 2


def _sample(series: pd.Series, n: int, seed: int) -> list[str]:
    values = series.dropna()
    if len(values) > n:
        values = values.sample(n=n, random_state=seed)
    return [str(v) for v in values]


def classify_column(name: str, series: pd.Series, *, sample_size: int = 200, seed: int = 0,
                    engine: PiiEngine | None = None, threshold: float = 0.5) -> ColumnInfo:
    """Classify one column by its header and by the PII found in a sample of its values.

    A column is a direct identifier when its header says so, or when one PII type covers a
    whole value in at least ``threshold`` of the sampled values.
    """
    engine = engine or PiiEngine()
    values = _sample(series, sample_size, seed)
    counts: dict[str, int] = {}
    whole: dict[str, int] = {}
    numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
    for v in values:
        if numeric and v.endswith(".0"):
            v = v[:-2]
        elif numeric and not v.lstrip("-").isdigit():
            continue  # amounts, rates: numbers with decimals are never identifiers
        v = v.strip()
        spans = engine.detect(v)
        seen = set()
        for s in spans:
            if s.type not in seen:
                counts[s.type] = counts.get(s.type, 0) + 1
                seen.add(s.type)
            if s.start == 0 and s.end == len(v):
                whole[s.type] = whole.get(s.type, 0) + 1
        if not spans and _looks_like_name(v):
            counts["PERSON"] = counts.get("PERSON", 0) + 1
            whole["PERSON"] = whole.get("PERSON", 0) + 1
    n = len(values)
    pii = {t: {"count": c, "rate": round(c / n, 4)} for t, c in sorted(counts.items())} if n else {}
    header = _header_class(name)
    best = max(whole, key=whole.get) if whole else None
    if best is not None and n and whole[best] / n >= threshold:
        return ColumnInfo(str(name), "direct_identifier", "values", n, pii, best)
    if header is not None:
        cls, pii_type = header
        if cls == "direct_identifier" and numeric and not counts:
            # e.g. a numeric "account_age" column: the header alone does not make it an ID
            cls, pii_type = "other", None
        return ColumnInfo(str(name), cls, "header", n, pii, pii_type)
    return ColumnInfo(str(name), "other", "values" if counts else "none", n, pii,
                      max(counts, key=counts.get) if counts else None)


def classify_table(df: pd.DataFrame, **kwargs) -> dict[str, ColumnInfo]:
    """Classify every column of ``df`` (see :func:`classify_column`)."""
    engine = kwargs.pop("engine", None) or PiiEngine()
    return {str(c): classify_column(str(c), df[c], engine=engine, **kwargs) for c in df.columns}
