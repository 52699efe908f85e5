"""Display names of columns, groups and models in the report's language.

Built in: the columns of the shipped datasets (the credit simulator, UCI default of credit card
clients) and the model and baseline names. A recipe names its own columns with
``data.display_names: {column: "name"}`` or ``{column: {zh: …, en: …}}``; that wins over the
built-in glossary. Unknown names are shown as they are.
"""

from __future__ import annotations

from typing import Any
from bentu.i18n import is_zh

__all__ = ["GLOSSARY", "display_name", "Namer"]

_PAY = {f"PAY_{i}": (f"还款状态（{m}）", f"repayment status ({e})")
        for i, m, e in ((0, "9 月", "Sep"), (2, "8 月", "Aug"), (3, "7 月", "Jul"), (4, "6 月", "Jun"),
                        (5, "5 月", "May"), (6, "4 月", "Apr"))}
_MONTHS = ((1, "9 月", "Sep"), (2, "8 月", "Aug"), (3, "7 月", "Jul"), (4, "6 月", "Jun"), (5, "5 月", "May"),
           (6, "4 月", "Apr"))

#: name → (zh, en)
GLOSSARY: dict[str, tuple[str, str]] = {
    # credit simulator
    "lender": ("放贷机构", "lender"), "name": ("姓名", "name"), "id_card": ("身份证号", "ID card number"),
    "mobile": ("手机号", "mobile number"), "sex": ("性别", "sex"), "age": ("年龄", "age"),
    "province": ("省份", "province"), "hukou": ("户籍类型", "hukou"), "monthly_income": ("月收入", "monthly income"),
    "debt_to_income": ("负债收入比", "debt-to-income ratio"), "credit_utilization": ("额度使用率", "credit utilization"),
    "n_late_payments_6m": ("近 6 个月逾期次数", "late payments, 6 months"),
    "months_on_book": ("账龄（月）", "months on book"), "loan_amount": ("贷款金额", "loan amount"),
    "loan_term_months": ("贷款期限（月）", "loan term (months)"),
    "n_credit_inquiries_3m": ("近 3 个月征信查询次数", "credit inquiries, 3 months"),
    "has_mortgage": ("有房贷", "has a mortgage"), "n_dependents": ("抚养人数", "dependents"),
    "has_social_insurance": ("缴纳社保", "pays social insurance"), "employment_type": ("职业类型", "employment type"),
    "education": ("学历", "education"), "application_channel": ("申请渠道", "application channel"),
    "default": ("违约", "default"),
    # UCI default of credit card clients
    "LIMIT_BAL": ("信用额度", "credit limit"), "SEX": ("性别", "sex"), "EDUCATION": ("学历", "education"),
    "MARRIAGE": ("婚姻状况", "marital status"), "AGE": ("年龄", "age"),
    **_PAY,
    **{f"BILL_AMT{i}": (f"账单金额（{m}）", f"bill amount ({e})") for i, m, e in _MONTHS},
    **{f"PAY_AMT{i}": (f"还款金额（{m}）", f"amount paid ({e})") for i, m, e in _MONTHS},
    "default.payment.next.month": ("下月违约", "default next month"),
    # models and baselines
    "tabular_mlp": ("多层感知机", "MLP"), "logistic_regression": ("逻辑回归", "logistic regression"),
    "gradient_boosting": ("梯度提升树", "gradient boosting"),
    # group values of the shipped datasets
    "male": ("男", "male"), "female": ("女", "female"), "rural": ("农村户籍", "rural"), "urban": ("城镇户籍", "urban"),
}


def display_name(name: str, lang: str, overrides: dict[str, Any] | None = None) -> str:
    """``name`` as the report shows it in ``lang`` ("zh" or "en")."""
    o = (overrides or {}).get(name)
    if isinstance(o, str):
        return o
    if isinstance(o, dict) and o.get(lang):
        return str(o[lang])
    pair = GLOSSARY.get(name)
    if pair is None:
        return name
    return pair[0] if is_zh(lang) else pair[1]


class Namer:
    """:func:`display_name` bound to a language and a recipe's ``data.display_names``.

    Names joined with " × " (intersections) or " & " (their groups) are translated part by part.
    """

    def __init__(self, lang: str, overrides: dict[str, Any] | None = None):
        self.lang, self.overrides = lang, dict(overrides or {})

    def __call__(self, name: Any) -> str:
        text = str(name)
        for sep in (" × ", " & "):
            if sep in text:
                return sep.join(self(part) for part in text.split(sep))
        return display_name(text, self.lang, self.overrides)
