"""One ROC AUC: every layer scores with bentu.metrics.roc_auc, and it is scikit-learn's."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from bentu.audit.fairness import _binned_auc, fairness_audit
from bentu.metrics import roc_auc

SRC = Path(__file__).resolve().parents[1] / "src" / "bentu"


def test_roc_auc_is_sklearn_with_ties_and_weights():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)
    score = np.round(rng.normal(size=500) + y, 1)  # many ties
    w = rng.uniform(0.1, 2.0, 500)
    assert roc_auc(y, score) == pytest.approx(roc_auc_score(y, score), abs=1e-12)
    assert roc_auc(y, score, sample_weight=w) == pytest.approx(roc_auc_score(y, score, sample_weight=w), abs=1e-12)
    assert roc_auc(y.astype(bool), score.reshape(-1, 1)) == pytest.approx(roc_auc_score(y, score))


def test_roc_auc_with_one_class_is_nan_not_an_error():
    assert math.isnan(roc_auc([0, 0, 0], [0.1, 0.2, 0.3]))
    assert math.isnan(roc_auc([1], [0.5]))


def test_binned_bootstrap_auc_matches_the_one_auc():
    """The fairness bootstrap's binned AUC (the one other AUC computation) agrees with roc_auc."""
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 2000)
    score = rng.normal(size=2000) + 0.8 * y
    edges = np.quantile(score, np.linspace(0, 1, 1001)[1:-1])
    bins = np.searchsorted(edges, score)
    pos = np.bincount(bins[y == 1], minlength=1000).astype(float)
    neg = np.bincount(bins[y == 0], minlength=1000).astype(float)
    assert float(_binned_auc(pos, neg)) == pytest.approx(roc_auc(y, score), abs=2e-3)


def test_fairness_group_auc_is_the_one_auc():
    rng = np.random.default_rng(2)
    n = 600
    group = rng.choice(["a", "b"], n)
    y = rng.integers(0, 2, n)
    score = rng.uniform(size=n) * 0.5 + 0.5 * y * rng.uniform(size=n)
    out = fairness_audit(y, score, pd.DataFrame({"g": group}), threshold=0.5, n_boot=0)
    rows = {r["group"]: r for r in out["attributes"]["g"]["groups"]}
    for g in ("a", "b"):
        m = group == g
        assert rows[g]["auc"] == pytest.approx(roc_auc_score(y[m], score[m]), abs=1e-12)
    assert out["overall"]["auc"] == pytest.approx(roc_auc_score(y, score), abs=1e-12)


def test_no_other_module_computes_an_auc_of_its_own():
    """roc_auc_score is called in bentu.metrics only; nothing else ranks scores for an AUC."""
    offenders = []
    for path in SRC.rglob("*.py"):
        if path == SRC / "metrics.py":
            continue
        text = path.read_text(encoding="utf-8")
        if re.search(r"\broc_auc_score\b|\bdef _auc\b|rankdata", text):
            offenders.append(str(path.relative_to(SRC)))
    assert offenders == []
