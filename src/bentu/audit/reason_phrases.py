"""Phrase catalogue for reason codes: what a feature's value says about an applicant, in plain
Chinese and English, keyed by raw feature name.

Each numeric feature has a ``"high"`` and a ``"low"`` phrase (the value compared with the
background applicants the explanation was computed against), optionally ``"one"`` (counts equal
to 1, where "several" would mislead) and ``"missing"``;
categorical and coded features have a ``"category"`` template with ``{value}`` and value names
in :data:`VALUE_NAMES`. Features not in the catalogue get :func:`describe`'s generic sentence
naming the feature and whether its value is high or low. Covered: the credit simulator
(``bentu.datasets.credit_sim``) and the UCI default-of-credit-card-clients columns.
"""

from __future__ import annotations

import math
import re
from bentu.i18n import is_zh, normalize_lang

__all__ = ["PHRASES", "VALUE_NAMES", "FORMATS", "describe", "format_value"]


def _p(zh_high: str, en_high: str, zh_low: str, en_low: str, **extra: dict) -> dict:
    return {"high": {"zh": zh_high, "en": en_high}, "low": {"zh": zh_low, "en": en_low}, **extra}


PHRASES: dict[str, dict[str, dict[str, str]]] = {
    # --- credit simulator -------------------------------------------------------------------
    "monthly_income": _p("月收入较高", "high monthly income", "月收入较低", "low monthly income",
                         missing={"zh": "未提供收入信息", "en": "income not reported"}),
    "debt_to_income": _p("负债收入比偏高", "high debt-to-income ratio", "负债收入比较低", "low debt-to-income ratio"),
    "credit_utilization": _p("信用额度使用率偏高", "high use of available credit",
                             "信用额度使用率较低", "low use of available credit"),
    "n_late_payments_6m": _p("近 6 个月逾期次数较多", "several late payments in the last 6 months",
                             "近 6 个月逾期次数较少", "few late payments in the last 6 months",
                             one={"zh": "近 6 个月有 1 次逾期", "en": "a late payment in the last 6 months"}),
    "months_on_book": _p("信用账户历史较长", "long credit history", "信用账户历史较短", "short credit history"),
    "loan_amount": _p("申请贷款金额较大", "large loan amount requested", "申请贷款金额较小", "small loan amount requested"),
    "loan_term_months": _p("贷款期限较长", "long loan term", "贷款期限较短", "short loan term"),
    "n_credit_inquiries_3m": _p("近 3 个月征信查询次数较多", "many credit inquiries in the last 3 months",
                                "近 3 个月征信查询次数较少", "few credit inquiries in the last 3 months",
                                one={"zh": "近 3 个月有 1 次征信查询", "en": "a credit inquiry in the last 3 months"}),
    "n_dependents": _p("需抚养人数较多", "many dependents", "需抚养人数较少", "few dependents",
                       one={"zh": "需抚养 1 人", "en": "one dependent"}),
    "has_mortgage": _p("有住房按揭贷款", "has a mortgage", "无住房按揭贷款", "no mortgage"),
    "has_social_insurance": _p("缴纳社会保险", "pays social insurance", "未缴纳社会保险", "no social insurance"),
    "employment_type": {"category": {"zh": "职业类型为{value}", "en": "employment type: {value}"}},
    "education": {"category": {"zh": "学历为{value}", "en": "education: {value}"},
                  "missing": {"zh": "未提供学历信息", "en": "education not reported"}},
    "application_channel": {"category": {"zh": "申请渠道为{value}", "en": "applied through {value}"}},
    "lender": {"category": {"zh": "放贷机构为{value}", "en": "lender: {value}"}},
    # sensitive attributes (should not be model features; phrased in case they are)
    "sex": {"category": {"zh": "性别为{value}", "en": "sex: {value}"}},
    "age": _p("年龄较大", "older age", "年龄较小", "younger age"),
    "province": {"category": {"zh": "所在省份为{value}", "en": "province: {value}"}},
    "hukou": {"category": {"zh": "户籍类型为{value}", "en": "hukou (household registration): {value}"}},
    # --- UCI default of credit card clients -------------------------------------------------
    "LIMIT_BAL": _p("信用额度较高", "high credit limit", "信用额度较低", "low credit limit"),
    "AGE": _p("年龄较大", "older age", "年龄较小", "younger age"),
    "SEX": {"category": {"zh": "性别为{value}", "en": "sex: {value}"}},
    "EDUCATION": {"category": {"zh": "学历为{value}", "en": "education: {value}"}},
    "MARRIAGE": {"category": {"zh": "婚姻状况为{value}", "en": "marital status: {value}"}},
}

_MONTH_ZH = {0: "最近一个月", 1: "1 个月前", 2: "2 个月前", 3: "3 个月前", 4: "4 个月前", 5: "5 个月前"}
_MONTH_EN = {0: "in the latest month", 1: "1 month before the latest", 2: "2 months before the latest",
             3: "3 months before the latest", 4: "4 months before the latest", 5: "5 months before the latest"}
for _k, _lag in ((0, 0), (2, 1), (3, 2), (4, 3), (5, 4), (6, 5)):
    PHRASES[f"PAY_{_k}"] = {
        "high": {"zh": f"{_MONTH_ZH[_lag]}还款逾期", "en": f"late repayment {_MONTH_EN[_lag]}"},
        "low": {"zh": f"{_MONTH_ZH[_lag]}还款状态为{{value}}", "en": f"repayment status {_MONTH_EN[_lag]}: {{value}}"},
    }
for _i in range(1, 7):
    _lag = _i - 1
    PHRASES[f"BILL_AMT{_i}"] = _p(f"{_MONTH_ZH[_lag]}账单金额较高", f"high bill amount {_MONTH_EN[_lag]}",
                                  f"{_MONTH_ZH[_lag]}账单金额较低", f"low bill amount {_MONTH_EN[_lag]}")
    PHRASES[f"PAY_AMT{_i}"] = _p(f"{_MONTH_ZH[_lag]}还款金额较大", f"large repayment {_MONTH_EN[_lag]}",
                                 f"{_MONTH_ZH[_lag]}还款金额较小", f"small repayment {_MONTH_EN[_lag]}")

_PAY_STATUS = {-2: ("无消费", "no spending"), -1: ("按时全额还款", "paid in full"), 0: ("循环信用", "revolving credit")}

#: Display names of categorical / coded values: {feature: {value: {"zh", "en"}}}.
VALUE_NAMES: dict[str, dict[str, dict[str, str]]] = {
    "employment_type": {
        "salaried": {"zh": "受薪雇员", "en": "salaried employee"},
        "public_sector": {"zh": "公职人员", "en": "public-sector employee"},
        "self_employed": {"zh": "个体经营", "en": "self-employed"},
        "gig_worker": {"zh": "灵活就业", "en": "gig worker"},
        "retired": {"zh": "退休", "en": "retired"},
    },
    "education": {
        "junior_high_or_below": {"zh": "初中及以下", "en": "junior high school or below"},
        "high_school": {"zh": "高中", "en": "high school"},
        "college": {"zh": "大专", "en": "college"},
        "bachelor": {"zh": "本科", "en": "bachelor's degree"},
        "postgraduate": {"zh": "研究生", "en": "postgraduate degree"},
    },
    "application_channel": {
        "branch": {"zh": "网点柜台", "en": "a branch"},
        "mobile_app": {"zh": "手机应用", "en": "the mobile app"},
        "partner_platform": {"zh": "合作平台", "en": "a partner platform"},
    },
    "sex": {"male": {"zh": "男", "en": "male"}, "female": {"zh": "女", "en": "female"}},
    "hukou": {"rural": {"zh": "农村户籍", "en": "rural"}, "urban": {"zh": "城镇户籍", "en": "urban"}},
    "SEX": {"1": {"zh": "男", "en": "male"}, "2": {"zh": "女", "en": "female"}},
    "EDUCATION": {
        "1": {"zh": "研究生", "en": "graduate school"}, "2": {"zh": "本科", "en": "university"},
        "3": {"zh": "高中", "en": "high school"}, "4": {"zh": "其他", "en": "other"},
        "5": {"zh": "未知", "en": "unknown"}, "6": {"zh": "未知", "en": "unknown"}, "0": {"zh": "未知", "en": "unknown"},
    },
    "MARRIAGE": {"1": {"zh": "已婚", "en": "married"}, "2": {"zh": "单身", "en": "single"},
                 "3": {"zh": "其他", "en": "other"}, "0": {"zh": "未知", "en": "unknown"}},
}

#: How to show a feature's value: "pct" (ratio as %), "money" (CNY), "int", "months".
FORMATS: dict[str, str] = {
    "debt_to_income": "pct", "credit_utilization": "pct", "monthly_income": "money", "loan_amount": "money",
    "n_late_payments_6m": "int", "n_credit_inquiries_3m": "int", "n_dependents": "int",
    "months_on_book": "months", "loan_term_months": "months", "age": "int", "AGE": "int",
    "LIMIT_BAL": "money", **{f"BILL_AMT{i}": "money" for i in range(1, 7)},
    **{f"PAY_AMT{i}": "money" for i in range(1, 7)},
}

#: Coded numeric columns always phrased by their value name, never as high/low.
_CODED = {"SEX", "EDUCATION", "MARRIAGE"}
_PAY = re.compile(r"^PAY_[0-6]$")


def _is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or str(value) in ("<NA>", "nan")


def _equals_one(value) -> bool:
    try:
        return float(value) == 1.0
    except (TypeError, ValueError):
        return False


def format_value(feature: str, value, lang: str) -> str:
    """The value as a person reads it (``35%``, ``¥8,000``, ``24 个月``, a category name)."""
    zh = is_zh(lang)
    if _is_missing(value):
        return "缺失" if zh else "missing"
    if _PAY.match(feature):
        v = int(round(float(value)))
        if v in _PAY_STATUS:
            return _PAY_STATUS[v][0 if zh else 1]
        return f"逾期 {v} 个月" if zh else f"{v} month{'s' if v != 1 else ''} late"
    names = VALUE_NAMES.get(feature)
    if names is not None:
        key = str(int(value)) if isinstance(value, (int, float)) and float(value).is_integer() else str(value)
        if key in names:
            return names[key]["zh" if zh else "en"]
    if isinstance(value, str):
        return value
    x = float(value)
    kind = FORMATS.get(feature)
    if kind == "pct":
        return f"{x * 100:.0f}%"
    if kind == "money":
        return f"{x:,.0f} 元" if zh else f"CNY {x:,.0f}"
    if kind == "months":
        return f"{x:.0f} 个月" if zh else f"{x:.0f} months"
    if kind == "int" or x.is_integer():
        return f"{x:.0f}"
    return f"{x:.3g}"


def describe(feature: str, *, direction: str, value, lang: str = "zh") -> str:
    """One phrase for ``feature`` with ``value``, e.g. ``近 6 个月逾期次数较多（3）``.

    Parameters
    ----------
    feature : str
        Raw feature name.
    direction : {"high", "low", "category", "missing"}
        How the value compares with the background applicants (numeric features), or that the
        feature is categorical / missing.
    value : object
        The raw value.
    lang : {"zh", "en"}

    Returns
    -------
    str
        The phrase; features outside the catalogue get a generic phrase naming the feature.
    """
    lang = normalize_lang(lang)
    entry = PHRASES.get(feature, {})
    shown = format_value(feature, value, lang)
    if direction == "missing" or _is_missing(value):
        if "missing" in entry:
            return entry["missing"][lang]
        return f"未提供{feature}" if is_zh(lang) else f"{feature} not reported"
    if feature in _CODED or (direction == "category" and "category" in entry):
        template = entry.get("category", {"zh": f"{feature}为{{value}}", "en": f"{feature}: {{value}}"})
        return template[lang].format(value=shown)
    if direction in ("high", "low") and "one" in entry and _equals_one(value):
        return entry["one"][lang]
    if direction in ("high", "low") and direction in entry:
        text = entry[direction][lang]
        if "{value}" in text:
            return text.format(value=shown)
        return f"{text}（{shown}）" if is_zh(lang) else f"{text} ({shown})"
    if direction == "category":
        return f"{feature}为{shown}" if is_zh(lang) else f"{feature}: {shown}"
    word = {"high": ("偏高", "high"), "low": ("偏低", "low")}.get(direction, ("", ""))
    return f"{feature}{word[0]}（{shown}）" if is_zh(lang) else f"{feature} is {word[1]} ({shown})"
