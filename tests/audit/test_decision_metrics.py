"""Decision metrics: one confusion count for credit (binary_metrics) and imaging (clinical_metrics),
checked against scikit-learn, with each documented zero-division rule."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix, f1_score, precision_score, recall_score

from bentu.audit.metrics import binary_metrics, clinical_metrics, confusion_counts


def test_counts_and_ratios_equal_sklearn():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    p = np.clip(rng.normal(0.4 + 0.2 * y, 0.2), 0, 1)
    pred = (p >= 0.5).astype(int)
    tn, fp, fn, tp = confusion_matrix(y, pred).ravel()
    assert confusion_counts(y, p, 0.5) == {"tp": tp, "fp": fp, "tn": tn, "fn": fn}
    b, c = binary_metrics(y, p, 0.5), clinical_metrics(y, p, 0.5)
    assert b["precision"] == pytest.approx(precision_score(y, pred)) == pytest.approx(c["ppv"])
    assert b["sensitivity"] == pytest.approx(recall_score(y, pred)) == pytest.approx(c["sensitivity"])
    assert b["f1"] == pytest.approx(f1_score(y, pred))
    assert b["specificity"] == pytest.approx(c["specificity"]) and b["auc"] == pytest.approx(c["auc"])
    assert {k: b[k] for k in ("tp", "fp", "tn", "fn")} == {k: c[k] for k in ("tp", "fp", "tn", "fn")}


def test_zero_division_rules():
    y = np.array([0, 0, 0, 0])  # no positive case
    p = np.array([0.1, 0.2, 0.7, 0.3])
    b, c = binary_metrics(y, p, 0.5), clinical_metrics(y, p, 0.5)
    assert b["sensitivity"] == 0.0 and b["precision"] == 0.0 and b["f1"] == 0.0  # as sklearn zero_division=0
    assert math.isnan(c["sensitivity"]) and c["ppv"] == 0.0 and c["specificity"] == 0.75
    assert math.isnan(b["auc"]) and math.isnan(c["auc"])
