"""A simulated multi-lender Chinese consumer-credit portfolio with a known ground truth.

Six lenders, each in its own home province, hold applicants with different customer mixes and
products (non-IID institutions). Every row carries the direct identifiers a real lender holds
(name, resident ID, mobile), sensitive attributes, 14 features, the recorded label ``default``
and the ground-truth probability ``true_pd`` it was drawn from. The data-generating process is
documented, with every coefficient, in ``docs/datasets/credit-sim.md``.

Fairness design: with ``bias=False`` sensitive attributes have no direct effect on default given
the features. With ``bias=True`` the recorded label of rural-hukou applicants
(``hukou == "rural"``) is drawn from ``logit(true_pd) + bias_strength``, as biased collection
practice would record it; ``true_pd`` stays the unbiased probability.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bentu.datasets._identifiers import make_mobiles, make_names, make_resident_ids
from bentu.errors import ConfigError

__all__ = ["simulate_credit", "CREDIT_SIM_ROLES", "LENDERS", "BIASED_GROUP", "SNAPSHOT_DATE"]

#: The date at which ``age`` is measured (birth dates in ``id_card`` are consistent with it).
SNAPSHOT_DATE = "2024-06-30"

#: The group whose recorded labels are biased when ``bias=True``: ``(column, value)``.
BIASED_GROUP = ("hukou", "rural")

EMPLOYMENT = ("salaried", "public_sector", "self_employed", "gig_worker", "retired")
EDUCATION = ("junior_high_or_below", "high_school", "college", "bachelor", "postgraduate")
CHANNELS = ("branch", "mobile_app", "partner_platform")
TERMS = np.array([6, 12, 24, 36])

CREDIT_SIM_ROLES: dict = {
    "target": "default",
    "institution": "lender",
    "identifiers": ["name", "id_card", "mobile"],
    "sensitive": ["sex", "age", "province", "hukou"],
    "ground_truth": ["true_pd"],
    "categorical": [
        "sex", "province", "hukou", "employment_type", "education", "application_channel",
    ],
    "features": [
        "monthly_income", "debt_to_income", "credit_utilization", "n_late_payments_6m",
        "months_on_book", "loan_amount", "loan_term_months", "n_credit_inquiries_3m",
        "has_mortgage", "employment_type", "education", "application_channel",
        "n_dependents", "has_social_insurance",
    ],
}


@dataclass(frozen=True)
class Lender:
    """One lender's customer mix and product (see the lender table in the docs)."""

    id: str
    name_zh: str
    province: str
    share: float  # share of portfolio rows
    home_share: float  # share of customers whose ID province is the home province
    rural_share: float
    age_mean: float
    income_median: float  # CNY per month
    stress: float  # shift of the latent financial-stress factor
    instalment_share: float  # median new monthly instalment / monthly income
    term_p: tuple[float, float, float, float]  # P(term = 6, 12, 24, 36 months)
    channel_p: tuple[float, float, float]  # P(branch, mobile_app, partner_platform)
    employment_p: tuple[float, float, float, float]  # salaried, public, self-employed, gig
    offset: float  # lender-level logit shift (underwriting and collection practice)


LENDERS: tuple[Lender, ...] = (
    Lender("gd_rural_bank", "粤海农村商业银行", "广东", 0.24, 0.70, 0.45, 42, 6500, -0.30,
           0.12, (0.0, 0.2, 0.4, 0.4), (0.60, 0.30, 0.10), (0.45, 0.15, 0.30, 0.10), -0.20),
    Lender("zj_consumer_finance", "之江消费金融", "浙江", 0.21, 0.75, 0.35, 38, 8000, 0.10,
           0.15, (0.1, 0.4, 0.3, 0.2), (0.10, 0.60, 0.30), (0.50, 0.10, 0.25, 0.15), 0.00),
    Lender("bj_city_bank", "京华城市银行", "北京", 0.18, 0.70, 0.25, 40, 11000, -0.40,
           0.10, (0.0, 0.1, 0.4, 0.5), (0.50, 0.45, 0.05), (0.55, 0.25, 0.15, 0.05), 0.25),
    Lender("sc_micro_loan", "天府小额贷款", "四川", 0.15, 0.85, 0.40, 38, 5500, 0.55,
           0.18, (0.4, 0.4, 0.2, 0.0), (0.05, 0.45, 0.50), (0.35, 0.05, 0.25, 0.35), 0.20),
    Lender("hn_rural_credit", "中原农村信用合作社", "河南", 0.13, 0.90, 0.55, 42, 4800, 0.05,
           0.12, (0.1, 0.4, 0.3, 0.2), (0.70, 0.25, 0.05), (0.35, 0.15, 0.35, 0.15), 0.05),
    Lender("gs_online_lending", "陇原网络小贷", "甘肃", 0.09, 0.80, 0.45, 38, 4500, 0.90,
           0.20, (0.5, 0.4, 0.1, 0.0), (0.00, 0.60, 0.40), (0.30, 0.05, 0.25, 0.40), 0.30),
)

# Ground-truth logistic model: logit(true_pd) = lender offset + sum of these terms.
COEF = {
    "intercept": -3.4,
    "log_income": -0.60,  # per unit of log(monthly_income / 6000)
    "dti": 0.80,  # per unit of (debt_to_income - 0.35)
    "dti_hinge": 3.00,  # per unit of max(0, debt_to_income - 0.60)        (non-linear)
    "util": 0.60,  # per unit of credit_utilization
    "util_hinge": 6.00,  # per unit of max(0, credit_utilization - 0.75)   (non-linear)
    "util_zero": 0.90,  # if credit_utilization == 0 (no revolving credit)  (non-monotone)
    "late": 0.30,  # per late payment, up to 4
    "late_x_util": 1.00,  # per late payment (<= 4) x credit_utilization  (interaction)
    "dti_x_informal": 2.00,  # x (debt_to_income - 0.35) if self-employed or gig worker
    "inquiries": 0.08,  # per inquiry in 3 months, up to 8
    "many_inquiries": 0.80,  # if 4 or more inquiries in 3 months          (step)
    "new_account": 1.20,  # x exp(-months_on_book / 12)                   (non-linear)
    "term": 0.15,  # per 12 months of loan term beyond 12
    "mortgage": -0.30,
    "dependents": 0.05,  # per dependent
    "social_insurance": -0.10,
}
COEF_EMPLOYMENT = {"salaried": 0.0, "public_sector": -0.45, "self_employed": 0.20,
                   "gig_worker": 0.35, "retired": -0.10}
COEF_EDUCATION = {"junior_high_or_below": 0.20, "high_school": 0.10, "college": 0.0,
                  "bachelor": -0.15, "postgraduate": -0.30}
COEF_CHANNEL = {"branch": 0.0, "mobile_app": 0.10, "partner_platform": 0.25}

_OTHER_PROVINCES = ("湖南", "安徽", "广西", "河南", "四川", "甘肃", "广东", "浙江", "北京")


def simulate_credit(
    *, n_rows: int = 30_000, seed: int = 0, bias: bool = False, bias_strength: float = 1.5
) -> pd.DataFrame:
    """Simulate a multi-lender Chinese consumer-credit portfolio.

    Parameters
    ----------
    n_rows : int, default 30000
        Number of applicants (rows), at least 1.
    seed : int, default 0
        Seed of the :class:`numpy.random.Generator`; the same seed gives an identical frame.
    bias : bool, default False
        If true, record the labels of rural-hukou applicants with a logit shifted by
        ``bias_strength`` (historical label bias). ``true_pd`` is unaffected.
    bias_strength : float, default 1.5
        The logit shift applied to the biased group's recorded labels; finite.

    Returns
    -------
    pandas.DataFrame
        One row per applicant. Column roles are in :data:`CREDIT_SIM_ROLES`; ``default`` is the
        recorded label (0/1) and ``true_pd`` the ground-truth default probability.

    Raises
    ------
    ConfigError
        If ``n_rows`` is not a positive integer or ``bias_strength`` is not finite.
    """
    _check_args(n_rows, bias_strength)
    rng = np.random.default_rng(seed)
    df = _applicants(rng, n_rows)
    logit = _true_logit(df)
    u = rng.random(n_rows)  # one uniform per row, shared by the biased and unbiased labels
    recorded = logit + (bias_strength * (df["hukou"] == "rural").to_numpy() if bias else 0.0)
    df["true_pd"] = _sigmoid(logit)
    df["default"] = (u < _sigmoid(recorded)).astype(np.int64)
    _hide_values(rng, df)
    male = (df["sex"] == "male").to_numpy()
    df.insert(1, "name", make_names(rng, male))
    birth = df.pop("_birth").to_numpy()
    df.insert(2, "id_card", make_resident_ids(rng, df["province"].to_numpy(), birth, male))
    df.insert(3, "mobile", make_mobiles(rng, n_rows))
    return df


def _check_args(n_rows, bias_strength) -> None:
    """Reject a non-positive ``n_rows`` or a non-finite ``bias_strength``."""
    if isinstance(n_rows, bool) or not isinstance(n_rows, (int, np.integer)) or n_rows < 1:
        raise ConfigError(
            "The 'n_rows' parameter of simulate_credit must be an int >= 1. "
            f"Got {n_rows!r} instead.",
            f"simulate_credit 的参数 'n_rows' 必须是 >= 1 的整数，实际为 {n_rows!r}。",
        )
    if not isinstance(bias_strength, (int, float)) or not math.isfinite(bias_strength):
        raise ConfigError(
            "The 'bias_strength' parameter of simulate_credit must be a finite float. "
            f"Got {bias_strength!r} instead.",
            f"simulate_credit 的参数 'bias_strength' 必须是有限的浮点数，实际为 {bias_strength!r}。",
        )


def _applicants(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """Draw lender, sensitive attributes and features (true values, before missingness)."""
    shares = np.array([lender.share for lender in LENDERS])
    li = rng.choice(len(LENDERS), size=n, p=shares / shares.sum())
    L = {f: np.array([getattr(lender, f) for lender in LENDERS])[li] for f in (
        "home_share", "rural_share", "age_mean", "income_median", "stress", "instalment_share",
        "offset")}
    home = np.array([lender.province for lender in LENDERS])[li]
    away = rng.choice(_OTHER_PROVINCES, size=n)
    away = np.where(away == home, "湖南", away)
    province = np.where(rng.random(n) < L["home_share"], home, away)
    rural = rng.random(n) < L["rural_share"]
    male = rng.random(n) < 0.52
    age = np.clip(np.rint(rng.normal(L["age_mean"], 10.0, size=n)), 20, 70).astype(np.int64)
    education = _education(rng, rural, age)
    employment = _employment(rng, li, age)
    income = _income(rng, L["income_median"], education, employment, age, rural, male)
    stress = rng.normal(L["stress"], 1.0, size=n)  # latent; correlates the bureau features
    util = _sigmoid(-0.6 + 0.9 * stress + rng.normal(0, 0.7, size=n))
    util[rng.random(n) < 0.10] = 0.0  # no revolving credit in use (thin or dormant file)
    late = rng.poisson(np.exp(-1.7 + 0.75 * stress))
    inquiries = rng.poisson(np.exp(0.1 + 0.45 * stress))
    mob = np.clip(np.rint(rng.gamma(2.0, 14.0 + 0.1 * (age - 20))), 1, 240).astype(np.int64)
    mortgage = rng.random(n) < _sigmoid(-1.2 + 0.03 * (age - 35) - 0.05 * (age > 55) * (age - 55)
                                        + 0.6 * (income > 9000) - 0.3 * rural)
    insured = rng.random(n) < _social_insurance_p(employment, rural)
    dependents = np.minimum(rng.poisson(np.where((age >= 28) & (age <= 55), 1.3, 0.5)), 5)
    term = TERMS[_choose_rows(rng, np.array([lender.term_p for lender in LENDERS])[li])]
    instalment = income * L["instalment_share"] * np.exp(rng.normal(0, 0.4, size=n))
    loan = np.maximum(np.round(instalment / _annuity(term), -2), 1000.0)
    dti = _dti(rng, loan, term, income, mortgage, stress)
    channel_p = np.array([lender.channel_p for lender in LENDERS])[li]
    channel = np.array(CHANNELS)[_choose_rows(rng, channel_p)]
    return pd.DataFrame({
        "lender": np.array([lender.id for lender in LENDERS])[li],
        "sex": np.where(male, "male", "female"),
        "age": age,
        "province": province,
        "hukou": np.where(rural, "rural", "urban"),
        "monthly_income": np.round(income, -1),
        "debt_to_income": np.round(dti, 3),
        "credit_utilization": np.round(util, 3),
        "n_late_payments_6m": late.astype(np.int64),
        "months_on_book": mob,
        "loan_amount": loan,
        "loan_term_months": term.astype(np.int64),
        "n_credit_inquiries_3m": inquiries.astype(np.int64),
        "has_mortgage": mortgage.astype(np.int64),
        "n_dependents": dependents.astype(np.int64),
        "has_social_insurance": insured.astype(np.int64),
        "employment_type": employment,
        "education": education,
        "application_channel": channel,
        "_offset": L["offset"],
        "_birth": _birth_dates(rng, age),
    })


def _education(rng: np.random.Generator, rural: np.ndarray, age: np.ndarray) -> np.ndarray:
    """Education level; a little lower for rural hukou and older applicants."""
    base = rng.normal(0.0, 1.0, size=len(age)) - 0.25 * rural - 0.012 * (age - 40)
    cuts = np.array([-1.3, -0.45, 0.35, 1.45])  # ~10 / 23 / 31 / 29 / 7 %
    return np.array(EDUCATION)[np.searchsorted(cuts, base)]


def _employment(rng: np.random.Generator, li: np.ndarray, age: np.ndarray) -> np.ndarray:
    """Employment type by lender mix; half of applicants aged 60+ are retired."""
    p = np.array([lender.employment_p for lender in LENDERS])[li]
    kind = np.array(EMPLOYMENT[:4])[_choose_rows(rng, p)]
    return np.where((age >= 60) & (rng.random(len(age)) < 0.5), "retired", kind)


def _social_insurance_p(employment: np.ndarray, rural: np.ndarray) -> np.ndarray:
    """P(urban employee social insurance): high for formal jobs, low for rural hukou holders,
    who are mostly covered by the rural schemes instead (a realistic proxy of hukou)."""
    job = pd.Series(employment).map({"salaried": 0.6, "public_sector": 2.0, "self_employed": -0.8,
                                     "gig_worker": -1.2, "retired": 0.4}).to_numpy()
    return _sigmoid(1.6 + job - 4.0 * rural)


def _income(rng, median, education, employment, age, rural, male) -> np.ndarray:
    """Monthly income (CNY): lender median x education, job, age hump, hukou, sex, noise."""
    edu_effect = dict(zip(EDUCATION, (-0.25, -0.12, 0.0, 0.15, 0.35)))
    edu = pd.Series(education).map(edu_effect).to_numpy()
    job = pd.Series(employment).map({"salaried": 0.0, "public_sector": 0.10, "self_employed": 0.05,
                                     "gig_worker": -0.15, "retired": -0.35}).to_numpy()
    hump = -0.0003 * (age - 42) ** 2
    log_inc = np.log(median) + edu + job + hump - 0.06 * rural + 0.03 * male
    return np.clip(np.exp(log_inc + rng.normal(0, 0.45, size=len(age))), 1500, 200_000)


def _annuity(term: np.ndarray) -> np.ndarray:
    """Monthly instalment per yuan borrowed at 12 % a year, amortising over ``term`` months."""
    r = 0.12 / 12
    return r / (1 - (1 + r) ** -term)


def _dti(rng, loan, term, income, mortgage, stress) -> np.ndarray:
    """Monthly debt service over income: new instalment + mortgage + other debt."""
    other = income * _sigmoid(-2.4 + 0.5 * stress + rng.normal(0, 0.5, size=len(loan)))
    mortgage_pay = mortgage * income * rng.uniform(0.15, 0.35, size=len(loan))
    return np.clip((loan * _annuity(term) + other + mortgage_pay) / income, 0.0, 2.0)


def _true_logit(df: pd.DataFrame) -> np.ndarray:
    """The ground-truth logit of default; uses features and the lender offset only."""
    c = COEF
    util = df["credit_utilization"].to_numpy()
    late = np.minimum(df["n_late_payments_6m"].to_numpy(), 4)
    dti = df["debt_to_income"].to_numpy()
    inquiries = df["n_credit_inquiries_3m"].to_numpy()
    informal = df["employment_type"].isin(["self_employed", "gig_worker"]).to_numpy()
    return (
        c["intercept"] + df.pop("_offset").to_numpy()
        + c["log_income"] * np.log(df["monthly_income"].to_numpy() / 6000)
        + c["dti"] * (dti - 0.35) + c["dti_hinge"] * np.maximum(0.0, dti - 0.60)
        + c["util"] * util + c["util_hinge"] * np.maximum(0.0, util - 0.75)
        + c["util_zero"] * (util == 0)
        + c["late"] * late + c["late_x_util"] * late * util
        + c["dti_x_informal"] * (dti - 0.35) * informal
        + c["inquiries"] * np.minimum(inquiries, 8) + c["many_inquiries"] * (inquiries >= 4)
        + c["new_account"] * np.exp(-df["months_on_book"].to_numpy() / 12)
        + c["term"] * (df["loan_term_months"].to_numpy() - 12) / 12
        + c["mortgage"] * df["has_mortgage"].to_numpy()
        + c["dependents"] * df["n_dependents"].to_numpy()
        + c["social_insurance"] * df["has_social_insurance"].to_numpy()
        + df["employment_type"].map(COEF_EMPLOYMENT).to_numpy()
        + df["education"].map(COEF_EDUCATION).to_numpy()
        + df["application_channel"].map(COEF_CHANNEL).to_numpy()
    )


def _hide_values(rng: np.random.Generator, df: pd.DataFrame) -> None:
    """Blank out what applicants did not report: income (~3 %, more for self-employed and gig
    workers) and education (~1.5 %)."""
    n = len(df)
    informal = df["employment_type"].isin(["self_employed", "gig_worker"]).to_numpy()
    df.loc[rng.random(n) < np.where(informal, 0.06, 0.015), "monthly_income"] = np.nan
    df["education"] = df["education"].where(rng.random(n) >= 0.015, None)


def _birth_dates(rng: np.random.Generator, age: np.ndarray) -> np.ndarray:
    """Birth dates (``datetime64[D]``) at which ``age`` is the age on :data:`SNAPSHOT_DATE`."""
    snap = np.datetime64(SNAPSHOT_DATE)
    year = snap.astype("datetime64[Y]").astype(int) + 1970
    md = SNAPSHOT_DATE[4:]
    latest = np.array([f"{y}{md}" for y in year - age], dtype="datetime64[D]")
    earliest = np.array([f"{y}{md}" for y in year - age - 1], dtype="datetime64[D]") + 1
    span = (latest - earliest).astype(np.int64) + 1
    return earliest + (rng.random(len(age)) * span).astype(np.int64)


def _choose_rows(rng: np.random.Generator, p: np.ndarray) -> np.ndarray:
    """Index drawn per row from the categorical distribution in each row of ``p``."""
    cdf = np.cumsum(p, axis=1)
    cdf[:, -1] = 1.0
    return (rng.random((len(p), 1)) > cdf).sum(axis=1)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))
