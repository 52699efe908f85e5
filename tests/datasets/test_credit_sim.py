"""Tests of the simulated multi-lender credit portfolio and its identifier generators."""

from __future__ import annotations

import datetime as dt
import math
import time

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from bentu.datasets._identifiers import (
    PROVINCE_REGION_CODES,
    resident_id_check_char,
    valid_mobile,
    valid_resident_id,
)
from bentu.datasets.credit_sim import (
    BIASED_GROUP,
    CREDIT_SIM_ROLES,
    LENDERS,
    SNAPSHOT_DATE,
    simulate_credit,
)
from bentu.errors import ConfigError

AGE_BANDS = [19, 29, 39, 49, 59, 70]


@pytest.fixture(scope="module")
def df() -> pd.DataFrame:
    return simulate_credit(seed=0)


@pytest.fixture(scope="module")
def df_biased() -> pd.DataFrame:
    return simulate_credit(seed=0, bias=True)


def approval_ratios(frame: pd.DataFrame, score: np.ndarray) -> dict[str, float]:
    """min/max approval rate over groups, approving the 80 % with the lowest risk score."""
    approved = score < np.quantile(score, 0.8)
    frame = frame.assign(_approved=approved, age_band=pd.cut(frame["age"], AGE_BANDS))
    out = {}
    for col in ("sex", "hukou", "age_band"):
        rates = frame.groupby(col, observed=True)["_approved"].mean()
        out[col] = rates.min() / rates.max()
    return out


def fit_lr(frame: pd.DataFrame, columns: list[str]):
    """A logistic regression on ``columns`` (imputed, scaled, one-hot), fit on the labels."""
    cat = [c for c in columns if c in CREDIT_SIM_ROLES["categorical"]]
    num = [c for c in columns if c not in cat]
    prep = make_column_transformer(
        (make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), num),
        (make_pipeline(SimpleImputer(strategy="constant", fill_value="missing"),
                       OneHotEncoder(handle_unknown="ignore")), cat),
    )
    x = frame[columns].astype({c: "object" for c in cat})
    model = make_pipeline(prep, LogisticRegression(max_iter=2000)).fit(x, frame["default"])
    return model.predict_proba(x)[:, 1]


# ---- shape, roles, determinism -------------------------------------------------------------


def test_same_seed_gives_identical_frame_and_other_seed_differs(df):
    pd.testing.assert_frame_equal(df, simulate_credit(seed=0))
    other = simulate_credit(seed=1)
    assert not other["id_card"].equals(df["id_card"])


def test_thirty_thousand_rows_in_under_two_seconds():
    times = []
    for _ in range(2):  # best of two: the CI machine's cores are shared
        start = time.perf_counter()
        frame = simulate_credit(n_rows=30_000, seed=3)
        times.append(time.perf_counter() - start)
    assert min(times) < 2.0
    assert len(frame) == 30_000


def test_roles_name_existing_columns_and_ground_truth_is_no_feature(df):
    roles = CREDIT_SIM_ROLES
    named = [roles["target"], roles["institution"], *roles["identifiers"], *roles["sensitive"],
             *roles["ground_truth"], *roles["categorical"], *roles["features"]]
    assert set(named) <= set(df.columns)
    assert set(df.columns) <= set(named)
    features = set(roles["features"])
    assert not features & set(roles["ground_truth"] + roles["identifiers"] + roles["sensitive"])
    assert roles["target"] not in features and roles["institution"] not in features
    assert 10 <= len(features) <= 14


def test_small_frames_work():
    assert len(simulate_credit(n_rows=1, seed=5)) == 1
    assert len(simulate_credit(n_rows=50, seed=5)) == 50


@pytest.mark.parametrize("n_rows", [0, -3, 2.5, True])
def test_bad_n_rows_is_refused(n_rows):
    with pytest.raises(ConfigError) as err:
        simulate_credit(n_rows=n_rows)
    assert str(err.value) == (
        f"The 'n_rows' parameter of simulate_credit must be an int >= 1. Got {n_rows!r} instead."
    )
    assert err.value.zh == f"simulate_credit 的参数 'n_rows' 必须是 >= 1 的整数，实际为 {n_rows!r}。"


def test_non_finite_bias_strength_is_refused():
    with pytest.raises(ConfigError) as err:
        simulate_credit(n_rows=10, bias=True, bias_strength=math.inf)
    assert str(err.value) == (
        "The 'bias_strength' parameter of simulate_credit must be a finite float. Got inf instead."
    )


# ---- identifiers ---------------------------------------------------------------------------


def test_validators_on_known_values():
    assert valid_resident_id("11010519491231002X")
    assert resident_id_check_char("11010519491231002") == "X"
    assert not valid_resident_id("110105194912310021")  # wrong check char
    assert not valid_resident_id("110105199902300028")  # 30 February
    assert not valid_resident_id("11010519491231002x")  # lower-case x
    assert not valid_resident_id("1101051949123100")
    assert valid_mobile("13812345678") and valid_mobile("19912345678")
    assert not valid_mobile("12012345678")  # 120 is not allocated
    assert not valid_mobile("1381234567")
    assert not valid_mobile("+8613812345678")


def test_every_identifier_is_valid_and_unique(df):
    assert df["id_card"].map(valid_resident_id).all()
    assert df["mobile"].map(valid_mobile).all()
    assert df["id_card"].is_unique and df["mobile"].is_unique
    assert df["name"].str.fullmatch(r"[\u4e00-\u9fff]{2,4}").all()
    assert df["name"].str[:2].isin(["欧阳", "司马", "上官", "诸葛", "东方", "慕容"]).any()


def test_resident_id_agrees_with_province_age_and_sex(df):
    ids = df["id_card"]
    region_to_province = {c: p for p, codes in PROVINCE_REGION_CODES.items() for c in codes}
    assert (ids.str[:6].map(region_to_province) == df["province"]).all()
    snap = dt.date.fromisoformat(SNAPSHOT_DATE)
    born = pd.to_datetime(ids.str[6:14], format="%Y%m%d")
    had_birthday = (born.dt.month * 100 + born.dt.day) <= snap.month * 100 + snap.day
    age = snap.year - born.dt.year - (~had_birthday).astype(int)
    assert (age.to_numpy() == df["age"].to_numpy()).all()
    odd = ids.str[16].astype(int) % 2 == 1
    assert (odd == (df["sex"] == "male")).all()


# ---- sensitive attributes, features, lenders -----------------------------------------------


def test_sensitive_attribute_domains(df):
    assert set(df["sex"]) == {"male", "female"}
    assert set(df["hukou"]) == {"urban", "rural"}
    assert df["age"].dtype == np.int64 and df["age"].between(20, 70).all()
    assert set(df["province"]) <= set(PROVINCE_REGION_CODES)


def test_missing_values_only_in_income_and_education(df):
    missing = df.isna().mean()
    assert set(missing[missing > 0].index) == {"monthly_income", "education"}
    assert 0.02 < missing["monthly_income"] < 0.05
    assert 0.005 < missing["education"] < 0.03


def test_lenders_are_non_iid(df):
    by = df.groupby("lender")
    assert df["lender"].nunique() == len(LENDERS) >= 5
    sizes = by.size()
    assert sizes.max() > 2 * sizes.min()  # unequal sizes
    rates = by["default"].mean()
    assert rates.min() < 0.10 and rates.max() > 0.25
    home = by["province"].agg(lambda s: s.value_counts().idxmax())
    assert home.is_unique  # each lender's customers come mostly from its own province
    assert home.to_dict() == {lender.id: lender.province for lender in LENDERS}
    income = by["monthly_income"].median()
    assert income.max() > 1.8 * income.min()


def test_labels_follow_true_pd_with_realistic_oracle_auc(df):
    assert df["true_pd"].between(0, 1, inclusive="neither").all()
    assert set(df["default"].unique()) == {0, 1}
    assert abs(df["default"].mean() - df["true_pd"].mean()) < 0.01
    assert 0.75 <= roc_auc_score(df["default"], df["true_pd"]) <= 0.85


# ---- fairness design -----------------------------------------------------------------------


def test_unbiased_portfolio_approves_every_group_at_ninety_percent_or_more(df):
    ratios = approval_ratios(df, df["true_pd"].to_numpy())
    assert min(ratios.values()) >= 0.9, ratios


def test_unbiased_labels_teach_a_model_no_hukou_penalty(df):
    score = fit_lr(df, CREDIT_SIM_ROLES["features"] + ["hukou"])
    assert approval_ratios(df, score)["hukou"] >= 0.9


def test_bias_changes_only_the_rural_labels(df, df_biased):
    assert BIASED_GROUP == ("hukou", "rural")
    pd.testing.assert_frame_equal(df.drop(columns="default"), df_biased.drop(columns="default"))
    urban = df["hukou"] == "urban"
    assert df.loc[urban, "default"].equals(df_biased.loc[urban, "default"])
    assert (df_biased["default"] >= df["default"]).all()
    rates = df_biased.groupby("hukou")["default"].mean()
    assert rates["rural"] > 2 * rates["urban"]


@pytest.mark.parametrize("with_hukou", [True, False])
def test_biased_labels_teach_a_model_to_approve_rural_applicants_less(df_biased, with_hukou):
    # Without the hukou column the model still learns the bias through a proxy feature
    # (has_social_insurance), as unawareness-based "fairness" would in practice.
    columns = CREDIT_SIM_ROLES["features"] + (["hukou"] if with_hukou else [])
    score = fit_lr(df_biased, columns)
    approved = pd.Series(score < np.quantile(score, 0.8))
    rates = approved.groupby(df_biased["hukou"].to_numpy()).mean()
    assert rates["rural"] < 0.8 * rates["urban"]
