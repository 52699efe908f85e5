"""SHAP attributions of the tabular MLP, summed to raw features, and reason codes."""

from __future__ import annotations

import re
import time

import numpy as np
import pytest
import torch

from bentu.audit.explain import explain_tabular
from bentu.audit.reason_phrases import PHRASES, describe
from bentu.data.preprocess import TabularPreprocessor
from bentu.datasets.credit_sim import CREDIT_SIM_ROLES, simulate_credit
from bentu.errors import DataError
from bentu.models.tabular import TabularMLP

UCI = (["LIMIT_BAL", "SEX", "EDUCATION", "MARRIAGE", "AGE", "PAY_0"] + [f"PAY_{i}" for i in range(2, 7)]
       + [f"BILL_AMT{i}" for i in range(1, 7)] + [f"PAY_AMT{i}" for i in range(1, 7)])


def _fit(extra: tuple[str, ...] = (), n: int = 3000):
    df = simulate_credit(n_rows=n, seed=0)
    feats = CREDIT_SIM_ROLES["features"] + list(extra)
    cat = [c for c in feats if c in CREDIT_SIM_ROLES["categorical"]]
    pre = TabularPreprocessor(numeric=[c for c in feats if c not in cat], categorical=cat).fit(df)
    X = pre.transform(df)
    torch.manual_seed(0)
    model = TabularMLP(X.shape[1], [32, 16])
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    x, y = torch.from_numpy(X), torch.from_numpy(df["default"].to_numpy(np.float32))
    for _ in range(3):
        for i in range(0, n, 256):
            opt.zero_grad()
            torch.nn.functional.binary_cross_entropy_with_logits(model(x[i:i + 256]), y[i:i + 256]).backward()
            opt.step()
    return df, pre, X, model.eval()


@pytest.fixture(scope="module")
def fitted():
    return _fit()


def test_attributions_sum_to_logit_offset(fitted):
    df, pre, X, model = fitted
    exp = explain_tabular(model=model, background=X[:1000], X=X[:500], feature_names=pre.feature_names_,
                          groups=pre.groups_)
    assert exp.method == "deeplift" and exp.space == "logit"
    assert exp.feature_names == pre.input_columns
    with torch.no_grad():
        logit = model(torch.from_numpy(X[:500])).numpy()
    assert np.abs(exp.values.sum(axis=1) - (logit - exp.base_value)).max() < 1e-4
    assert exp.additivity_error() < 1e-4


def test_batched_deepshap_equals_shap_deep_explainer(fitted):
    _, pre, X, model = fitted
    kw = dict(model=model, background=X[:1000], X=X[:8], feature_names=pre.feature_names_, groups=pre.groups_)
    fast, ref = explain_tabular(**kw), explain_tabular(**kw, method="deep")
    assert np.allclose(fast.values, ref.values, atol=1e-5)
    assert fast.base_value == pytest.approx(ref.base_value, abs=1e-5)
    grad = explain_tabular(**kw, method="gradient", nsamples=100)
    assert grad.values.shape == fast.values.shape


def test_reason_codes_are_adverse_sorted_and_bilingual(fitted):
    df, pre, X, model = fitted
    exp = explain_tabular(model=model, background=X[:1000], X=X[:200], feature_names=pre.feature_names_,
                          groups=pre.groups_)
    zh = exp.reason_codes(df.iloc[:200], top_k=4, lang="zh")
    en = exp.reason_codes(df.iloc[:200], top_k=4, lang="en")
    assert len(zh) == 200 and any(zh)
    for row_zh, row_en in zip(zh, en):
        assert len(row_zh) <= 4 and [r["feature"] for r in row_zh] == [r["feature"] for r in row_en]
        contrib = [r["contribution"] for r in row_zh]
        assert all(c > 0 for c in contrib) and contrib == sorted(contrib, reverse=True)
        for r_zh, r_en in zip(row_zh, row_en):
            assert re.search(r"[\u4e00-\u9fff]", r_zh["text"]) and "违约几率" in r_zh["text"]
            assert "odds of default" in r_en["text"] and r_en["odds_ratio"] == pytest.approx(np.exp(r_en["contribution"]))
            assert r_en["direction"] in ("high", "low", "category", "missing") and not r_en["sensitive"]
    late = [r for row in en for r in row if r["feature"] == "n_late_payments_6m" and r["value"] >= 2]
    assert late and late[0]["text"].startswith("Several late payments in the last 6 months (")


def test_phrase_catalogue():
    assert describe("n_late_payments_6m", direction="high", value=3, lang="zh") == "近 6 个月逾期次数较多（3）"
    assert describe("n_late_payments_6m", direction="high", value=3, lang="en") == \
        "several late payments in the last 6 months (3)"
    assert describe("debt_to_income", direction="high", value=0.62, lang="en") == "high debt-to-income ratio (62%)"
    assert describe("employment_type", direction="category", value="gig_worker", lang="zh") == "职业类型为灵活就业"
    assert describe("monthly_income", direction="missing", value=float("nan"), lang="en") == "income not reported"
    assert describe("PAY_0", direction="high", value=2, lang="en") == "late repayment in the latest month (2 months late)"
    assert describe("EDUCATION", direction="low", value=3, lang="zh") == "学历为高中"
    assert describe("mystery_score", direction="high", value=7.5, lang="en") == "mystery_score is high (7.5)"
    assert describe("mystery_score", direction="low", value=2, lang="zh") == "mystery_score偏低（2）"
    for feature in CREDIT_SIM_ROLES["features"] + CREDIT_SIM_ROLES["sensitive"] + UCI:
        assert feature in PHRASES, feature


def test_sensitive_feature_is_reported(fitted):
    df, pre, X, model = _fit(extra=("hukou",), n=1200)
    exp = explain_tabular(model=model, background=X[:300], X=X[:50], feature_names=pre.feature_names_,
                          groups=pre.groups_, sensitive=CREDIT_SIM_ROLES["sensitive"])
    assert exp.sensitive_features_used == ["hukou"]
    codes = exp.reason_codes(df.iloc[:50], lang="en")
    assert all(r["sensitive"] == (r["feature"] == "hukou") for row in codes for r in row)


def test_thousand_decisions_under_ten_seconds(fitted):
    df, pre, X, model = fitted
    start = time.perf_counter()
    exp = explain_tabular(model=model, background=X[1000:2000], X=X[:1000], feature_names=pre.feature_names_,
                          groups=pre.groups_)
    codes = exp.reason_codes(df.iloc[:1000], lang="zh")
    assert time.perf_counter() - start < 10.0
    assert len(codes) == 1000 and exp.additivity_error() < 1e-4


def test_global_importance_and_plot(fitted):
    _, pre, X, model = fitted
    exp = explain_tabular(model=model, background=X[:500], X=X[:300], feature_names=pre.feature_names_,
                          groups=pre.groups_)
    imp = exp.global_importance()
    assert [f for f, _ in imp] and sorted(v for _, v in imp)[::-1] == [v for _, v in imp]
    assert imp[0][1] == pytest.approx(np.abs(exp.values).mean(axis=0).max())
    from bentu.report.plots import importance_plot

    fig = importance_plot(imp, top=5, lang="en")
    assert len(fig.axes[0].patches) == 5


def test_reason_codes_need_matching_rows(fitted):
    df, pre, X, model = fitted
    exp = explain_tabular(model=model, background=X[:100], X=X[:10], feature_names=pre.feature_names_,
                          groups=pre.groups_)
    with pytest.raises(DataError) as err:
        exp.reason_codes(df.iloc[:9])
    assert str(err.value) == ("reason_codes: raw_rows has 9 rows but 10 decisions were explained; "
                              "pass the same rows, in the same order.")


def test_input_far_outside_training_gets_reasons_not_an_overflow(fitted):
    """A value no applicant has (schema-valid, far outside training) once made /v1/explain answer 500
    (OverflowError in exp of the contribution); found by the schemathesis fuzz test."""
    df, pre, X, model = fitted
    raw = df.iloc[:2].copy()
    raw.loc[raw.index[1], "credit_utilization"] = 1.0e12
    exp = explain_tabular(model=model, background=X[:1000], X=pre.transform(raw), feature_names=pre.feature_names_,
                          groups=pre.groups_)
    for lang in ("en", "zh"):
        codes = exp.reason_codes(raw, top_k=3, lang=lang)
        assert len(codes) == 2
        for r in codes[1]:
            assert np.isfinite(r["odds_ratio"]) and r["text"]
    top = exp.reason_codes(raw, top_k=1, lang="en")[1][0]
    assert top["feature"] == "credit_utilization" and top["contribution"] > 710
    assert top["odds_ratio"] == pytest.approx(np.exp(700.0)) and "by about 1.0e+304" in top["text"]
