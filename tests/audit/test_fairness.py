"""Fairness audit and mitigation on the simulated credit portfolio (bias on / off)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from bentu.audit.fairness import AGE_BANDS, fairness_audit, mitigate
from bentu.report.plots import fairness_plot
from bentu.data.preprocess import TabularPreprocessor
from bentu.datasets.credit_sim import CREDIT_SIM_ROLES, simulate_credit
from bentu.errors import ConfigError, DataError

THRESHOLD = 0.2  # decline when P(default) >= 0.2
SENSITIVE = ["sex", "age", "hukou"]


def _scored(bias: bool, seed: int = 0, n: int = 6000):
    """Credit-sim rows scored by a logistic regression on the recipe's features (no sensitive
    attribute among them), trained on the first 60 % of rows."""
    df = simulate_credit(n_rows=n, seed=seed, bias=bias)
    feats = CREDIT_SIM_ROLES["features"]
    cat = [c for c in feats if c in CREDIT_SIM_ROLES["categorical"]]
    pre = TabularPreprocessor(numeric=[c for c in feats if c not in cat], categorical=cat)
    k = int(0.6 * n)
    train, test = df.iloc[:k].reset_index(drop=True), df.iloc[k:].reset_index(drop=True)
    X_train, X_test = pre.fit(train).transform(train), pre.transform(test)
    model = LogisticRegression(max_iter=1000).fit(X_train, train["default"])
    return train, test, X_train, X_test, model.predict_proba(X_train)[:, 1], model.predict_proba(X_test)[:, 1]


@pytest.fixture(scope="module")
def biased():
    return _scored(bias=True)


def test_bias_on_flags_rural_applicants(biased):
    _, test, _, _, _, s_test = biased
    audit = fairness_audit(test["default"].to_numpy(), s_test, test[SENSITIVE], threshold=THRESHOLD,
                           intersections=False)
    hukou = audit["attributes"]["hukou"]
    assert hukou["flagged_groups"] == ["rural"]
    assert hukou["reference_group"] == "urban"
    rural = next(g for g in hukou["groups"] if g["group"] == "rural")
    assert rural["ratio_ci"][1] < 0.8 and rural["four_fifths"]
    assert {(f["attribute"], f["group"]) for f in audit["flags"]} == {("hukou", "rural")}
    assert audit["conventions"]["favourable_decision"] == "score < 0.2"


def test_bias_off_nothing_flagged():
    _, test, _, _, _, s_test = _scored(bias=False, seed=1)
    audit = fairness_audit(test["default"].to_numpy(), s_test, test[SENSITIVE], threshold=THRESHOLD)
    assert audit["flags"] == []
    assert audit["attributes"]["hukou"]["demographic_parity_ratio"] > 0.85


def test_mitigation_halves_dp_difference(biased):
    train, test, X_train, X_test, s_train, s_test = biased
    res = mitigate(X_train=X_train, y_train=train["default"], A_train=train[SENSITIVE], X_test=X_test,
                   y_test=test["default"], A_test=test[SENSITIVE], score_train=s_train, score_test=s_test,
                   threshold=THRESHOLD, attribute="hukou", strengths=(1.0,), p_test_true=test["true_pd"])
    rows = {r["method"]: r for r in res["rows"]}
    base, to, eg = rows["model"], rows["threshold_optimizer"], rows["exponentiated_gradient"]
    assert base["dp_difference"] > 0.2
    assert to["dp_reduction"] >= 0.5 and eg["dp_reduction"] >= 0.5
    # Post-processing keeps the score: its AUC is unchanged; the approval volume is kept too.
    assert to["auc_change"] == 0.0
    assert abs(to["approval_rate"] - base["approval_rate"]) < 0.03
    # Against the unbiased outcome the group-adjusted ranking loses no more than 0.01 AUC.
    assert to["auc_group_adjusted_true_pd"] >= base["auc_true_pd"] - 0.01
    assert eg["auc_true_pd"] >= rows["logistic_regression"]["auc_true_pd"] - 0.01


def test_random_groups_are_not_flagged_beyond_chance():
    """Groups drawn at random (no disparity): the interval rule never flags, while the bare
    point ratio does flag small groups by chance."""
    interval_flags = point_flags = 0
    for seed in range(12):
        rng = np.random.default_rng(seed)
        n = 1500
        group = rng.choice(["a", "b", "c", "d", "small"], size=n, p=[0.3, 0.3, 0.2, 0.175, 0.025])
        score = rng.random(n)
        y = (rng.random(n) < 0.15).astype(int)
        audit = fairness_audit(y, score, pd.DataFrame({"g": group}), threshold=0.35, favourable="above_threshold",
                               intersections=False, seed=seed)
        interval_flags += len(audit["flags"])
        point = fairness_audit(y, score, pd.DataFrame({"g": group}), threshold=0.35, favourable="above_threshold",
                               intersections=False, n_boot=0)
        point_flags += len(point["flags"])
    assert interval_flags == 0
    assert point_flags > 0


def test_group_metrics_match_fairlearn():
    from fairlearn.metrics import (MetricFrame, demographic_parity_difference, equalized_odds_difference,
                                   false_positive_rate, selection_rate, true_positive_rate)
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    n = 800
    sens = pd.DataFrame({"region": rng.choice(["north", "south", "west"], n)})
    score = rng.random(n)
    y = (rng.random(n) < 0.2 + 0.5 * score).astype(int)
    audit = fairness_audit(y, score, sens, threshold=0.5, n_boot=0, intersections=False)
    approve, repaid = (score < 0.5).astype(int), 1 - y
    mf = MetricFrame(metrics={"selection_rate": selection_rate, "tpr": true_positive_rate,
                              "fpr": false_positive_rate}, y_true=repaid, y_pred=approve,
                     sensitive_features=sens["region"])
    res = audit["attributes"]["region"]
    for row in res["groups"]:
        for k in ("selection_rate", "tpr", "fpr"):
            assert row[k] == pytest.approx(mf.by_group.loc[row["group"], k])
        m = (sens["region"] == row["group"]).to_numpy()
        assert row["auc"] == pytest.approx(roc_auc_score(y[m], score[m]))
    assert res["demographic_parity_difference"] == pytest.approx(
        demographic_parity_difference(repaid, approve, sensitive_features=sens["region"]))
    assert res["equalized_odds_difference"] == pytest.approx(
        equalized_odds_difference(repaid, approve, sensitive_features=sens["region"]))


def test_age_is_banded_and_intersections_named(biased):
    _, test, _, _, _, s_test = biased
    audit = fairness_audit(test["default"].to_numpy(), s_test, test[["age", "hukou"]], threshold=THRESHOLD, n_boot=20)
    assert audit["banding"]["age"] == {"kind": "age_bands", "bands": [b[1] for b in AGE_BANDS]}
    assert {g["group"] for g in audit["attributes"]["age"]["groups"]} <= {b[1] for b in AGE_BANDS}
    inter = audit["intersections"]["age × hukou"]
    assert any(g["group"] == "35-44 & rural" for g in inter["groups"])
    small = [g for g in inter["groups"] if g["small"]]
    assert all(g["group"] in inter["excluded_small_groups"] and "four_fifths" not in g for g in small)


def test_bad_inputs_have_clear_errors():
    with pytest.raises(ConfigError) as err:
        fairness_audit(np.zeros(3), np.zeros(3), pd.DataFrame({"a": [1, 2, 3]}), threshold=0.5, favourable="approve")
    assert str(err.value) == ("The 'favourable' parameter of fairness_audit must be 'below_threshold' or "
                              "'above_threshold'. Got 'approve' instead.")
    with pytest.raises(DataError) as err:
        fairness_audit(np.zeros(3), np.zeros(4), pd.DataFrame({"a": [1, 2, 3]}), threshold=0.5)
    assert str(err.value) == ("y_true, y_score and sensitive must have the same number of rows; "
                              "got 3 labels, 4 scores and 3 sensitive rows.")


def test_plot_fairness_draws_each_attribute(biased):
    _, test, _, _, _, s_test = biased
    audit = fairness_audit(test["default"].to_numpy(), s_test, test[["sex", "hukou"]], threshold=THRESHOLD,
                           n_boot=20, intersections=False)
    fig = fairness_plot(audit, "zh")
    assert len(fig.axes) == 2
    assert [ax.get_title() for ax in fig.axes] == ["sex", "hukou"]
    from bentu.report.glossary import Namer

    fig = fairness_plot(audit, "zh", label=Namer("zh"))
    assert [ax.get_title() for ax in fig.axes] == ["性别", "户籍类型"]
    assert all(t.get_fontsize() >= 10 for ax in fig.axes for t in ax.get_yticklabels())
