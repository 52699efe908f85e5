"""Column classification for tables (GB/T 37964-2019 vocabulary).

Each column is labelled ``direct_identifier`` (identifies a person on its own: name, ID number,
phone, card ...), ``quasi_identifier`` (identifies in combination: sex, age, birth date, region,
hukou ...), ``sensitive`` (what must be protected: income, diagnosis, religion ...) or
``other``. Every value of every column is scanned with the PII detectors; a header (Chinese or
English) that names an identifier only raises suspicion, the values decide (``privacy.json``
records why each column got its class).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bentu.privacy import _person
from bentu.privacy.detectors import PiiEngine
from bentu.i18n import is_zh

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
    """What was found in one column; never holds a raw value.

    ``scanned`` is the number of non-missing values whose PII was looked for (every value:
    the scan is never a sample), ``distinct`` the number of distinct values among them.
    ``pii`` maps a PII type to the number and share of values holding it somewhere, ``whole``
    to the number and share of values that are entirely one such item. ``header_hint`` is the
    PII type the header suggests (it only raises suspicion; the values decide).
    """

    name: str
    cls: str
    reason: str
    scanned: int = 0
    pii: dict[str, dict] = field(default_factory=dict)  # type -> {"count", "rate"}
    main_type: str | None = None
    whole: dict[str, dict] = field(default_factory=dict)  # type -> {"count", "rate"}
    distinct: int = 0
    header_hint: str | None = None
    header_class: str | None = None

    @property
    def sampled(self) -> int:
        """Kept for readers of the old report key: the scan covers every value."""
        return self.scanned

    def why(self, lang: str = "en") -> str:
        """One sentence saying why the column got its class."""
        zh = is_zh(lang)
        rate = (self.whole.get(self.main_type) or self.pii.get(self.main_type) or {}).get("rate", 0.0)
        hint = self.header_hint
        texts = {
            "values": (f"{rate:.1%} of its {self.scanned:,} values are entirely {self.main_type}",
                       f"其 {self.scanned:,} 个值中 {rate:.1%} 整体为 {self.main_type}"),
            "header+values": (f"its header suggests {hint} and {rate:.1%} of its {self.scanned:,} values hold it",
                              f"列名提示 {hint}，且其 {self.scanned:,} 个值中 {rate:.1%} 含该类信息"),
            "header+unique": (f"its header suggests {hint} and {self.distinct:,} of its {self.scanned:,} values are "
                              f"distinct, as identifiers are",
                              f"列名提示 {hint}，且其 {self.scanned:,} 个值中有 {self.distinct:,} 个互不相同，符合标识符特征"),
            "header_not_confirmed": (f"its header suggests {hint}, but none of its {self.scanned:,} values holds one "
                                     f"and they repeat ({self.distinct:,} distinct): not an identifier",
                                     f"列名提示 {hint}，但其 {self.scanned:,} 个值中没有该类信息且取值重复"
                                     f"（{self.distinct:,} 个不同值）：不是标识符"),
            "header": (f"its header names a {self.cls.replace('_', ' ')}", f"列名表明其为{_CLASS_ZH[self.cls]}"),
            "some_values": (f"{rate:.2%} of its {self.scanned:,} values hold {self.main_type}, too few for an "
                            f"identifier column",
                            f"其 {self.scanned:,} 个值中 {rate:.2%} 含 {self.main_type}，比例不足以构成标识符列"),
            "none": (f"no PII in any of its {self.scanned:,} values", f"其 {self.scanned:,} 个值中均无个人信息"),
        }
        en_zh = texts.get(self.reason, (self.reason, self.reason))
        return en_zh[1] if zh else en_zh[0]

    def to_dict(self) -> dict:
        return {"class": self.cls, "reason": self.reason, "why": self.why("en"), "why_zh": self.why("zh"),
                "scan": "full", "scanned": self.scanned, "sampled": self.scanned, "distinct": self.distinct,
                "header_hint": self.header_hint, "header_class": self.header_class,
                "value_hit_rate": (self.pii.get(self.main_type) or {}).get("rate", 0.0) if self.main_type else 0.0,
                "detector_types": sorted(self.pii), "pii_types": self.pii, "whole_value_types": self.whole,
                "main_type": self.main_type}


_CLASS_ZH = {"direct_identifier": "直接标识符", "quasi_identifier": "准标识符", "sensitive": "敏感信息", "other": "其他"}
#: A header's suspicion is confirmed when at least this share of the values holds its type ...
CONFIRM_RATE = 0.05
#: ... or, for types the detectors read poorly (Latin names, free addresses), when nearly every
#: value is distinct, as the values of an identifier are.
UNIQUE_RATE = 0.9
_BATCH = 2000


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


def _value_counts(series: pd.Series) -> tuple[pd.Series, int, bool]:
    """Distinct values (as text) that could hold PII, with their counts; the non-missing count."""
    values = series.dropna()
    numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
    if not numeric:
        return values.astype(str).str.strip().value_counts(), int(len(values)), False
    x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        # amounts and rates (numbers with decimals) and short integers are never identifiers
        candidate = np.isfinite(x) & (np.abs(x) >= 1e6) & (np.floor(x) == x)
    texts = pd.Series([f"{int(v)}" if abs(v) < 2 ** 63 else f"{v:.0f}" for v in x[candidate]], dtype=object)
    return texts.value_counts(), int(len(values)), True


def classify_column(name: str, series: pd.Series, *, sample_size: int | None = None, seed: int = 0,
                    engine: PiiEngine | None = None, threshold: float = 0.5) -> ColumnInfo:
    """Classify one column by the PII found in every one of its values, with its header as a hint.

    A column is a direct identifier when one PII type is the whole value in at least
    ``threshold`` of its values; or when its header names a direct-identifier type and either
    ``CONFIRM_RATE`` of the values hold that kind of PII or nearly all values are distinct. A
    header over values that hold no such PII and repeat (``telephone`` = "none" / "yes") is
    not an identifier. Every value is scanned (distinct values once); ``sample_size`` and
    ``seed`` are accepted for compatibility and ignored.
    """
    del sample_size, seed  # the scan is never a sample
    engine = engine or PiiEngine()
    counts_by_value, n, numeric = _value_counts(series)
    distinct = int(series.dropna().astype(str).nunique()) if n else 0
    header = _header_class(name)
    # A value that is just two to four Chinese characters starting with a surname is a name only
    # in a column of many distinct values (or one whose header says names): "甘肃" in a column of
    # nine provinces is not a person.
    names_possible = distinct >= 50 or (header is not None and header[1] == "PERSON")
    counts: dict[str, int] = {}
    whole: dict[str, int] = {}
    uniques = [str(v) for v in counts_by_value.index]
    weights = counts_by_value.to_numpy(dtype=np.int64)
    for lo in range(0, len(uniques), _BATCH):
        chunk = uniques[lo:lo + _BATCH]
        for v, w, spans in zip(chunk, weights[lo:lo + _BATCH], engine.detect_batch(chunk)):
            w = int(w)
            for t in {s.type for s in spans}:
                counts[t] = counts.get(t, 0) + w
            for t in {s.type for s in spans if s.start == 0 and s.end == len(v)}:
                whole[t] = whole.get(t, 0) + w
            if not spans and names_possible and _looks_like_name(v):
                counts["PERSON"] = counts.get("PERSON", 0) + w
                whole["PERSON"] = whole.get("PERSON", 0) + w

    def rates(c: dict[str, int]) -> dict[str, dict]:
        return {t: {"count": k, "rate": round(k / n, 6)} for t, k in sorted(c.items())} if n else {}

    pii, whole_r = rates(counts), rates(whole)
    hint = header[1] if header and header[0] == "direct_identifier" else None
    info = {"scanned": n, "pii": pii, "whole": whole_r, "distinct": distinct, "header_hint": hint,
            "header_class": header[0] if header else None}
    best = max(whole, key=whole.get) if whole else None
    if best is not None and n and whole[best] / n >= threshold:
        return ColumnInfo(str(name), "direct_identifier", "values", main_type=best, **info)
    if hint is not None:
        confirming = {t: k for t, k in counts.items() if t in _DIRECT_TYPES}
        top = max(confirming, key=confirming.get) if confirming else None
        if top is not None and confirming[top] / n >= CONFIRM_RATE:
            return ColumnInfo(str(name), "direct_identifier", "header+values", main_type=top, **info)
        if not numeric and n >= 20 and distinct / n >= UNIQUE_RATE:
            return ColumnInfo(str(name), "direct_identifier", "header+unique", main_type=hint, **info)
        header = None
        if not counts:
            return ColumnInfo(str(name), "other", "header_not_confirmed", main_type=None, **info)
    if header is not None:
        return ColumnInfo(str(name), header[0], "header", main_type=header[1], **info)
    if counts:
        return ColumnInfo(str(name), "other", "some_values", main_type=max(counts, key=counts.get), **info)
    return ColumnInfo(str(name), "other", "none", main_type=None, **info)


def classify_table(df: pd.DataFrame, **kwargs) -> dict[str, ColumnInfo]:
    """Classify every column of ``df`` (see :func:`classify_column`)."""
    engine = kwargs.pop("engine", None) or PiiEngine()
    return {str(c): classify_column(str(c), df[c], engine=engine, **kwargs) for c in df.columns}
