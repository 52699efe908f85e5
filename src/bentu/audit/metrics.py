"""Metrics of a binary score: discrimination (AUC, KS), decisions (accuracy, F1, sensitivity,
specificity), calibration (Brier, ECE and the reliability curve) and stability (PSI)."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import brier_score_loss, roc_curve

from bentu.metrics import roc_auc

__all__ = ["binary_metrics", "ks_statistic", "psi", "calibration_curve", "expected_calibration_error", "roc_points"]


def ks_statistic(y: np.ndarray, p: np.ndarray) -> float:
    """Kolmogorov–Smirnov statistic: the largest gap between the score CDFs of the two classes."""
    fpr, tpr, _ = roc_curve(y, p)
    return float(np.max(tpr - fpr))


def calibration_curve(y: np.ndarray, p: np.ndarray, n_bins: int = 10) -> dict:
    """Reliability curve with equal-width bins: mean predicted vs observed rate, and counts."""
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1]), 0, n_bins - 1)
    counts = np.bincount(idx, minlength=n_bins)
    sum_p = np.bincount(idx, weights=p, minlength=n_bins)
    sum_y = np.bincount(idx, weights=y, minlength=n_bins)
    nz = counts > 0
    return {
        "bin_edges": edges.tolist(),
        "mean_predicted": np.where(nz, sum_p / np.maximum(counts, 1), np.nan).tolist(),
        "observed_rate": np.where(nz, sum_y / np.maximum(counts, 1), np.nan).tolist(),
        "count": counts.tolist(),
    }


def expected_calibration_error(y: np.ndarray, p: np.ndarray, n_bins: int = 10) -> float:
    """ECE: the count-weighted mean gap between predicted and observed rates over bins."""
    c = calibration_curve(y, p, n_bins)
    counts = np.asarray(c["count"], dtype=float)
    gap = np.abs(np.nan_to_num(np.asarray(c["mean_predicted"])) - np.nan_to_num(np.asarray(c["observed_rate"])))
    return float(np.sum(gap * counts) / max(counts.sum(), 1.0))


def psi(expected: np.ndarray, actual: np.ndarray, bins: int = 10, eps: float = 1e-4) -> float:
    """Population stability index of ``actual`` against ``expected`` (quantile bins of expected).

    PSI = Σ (a − e) · ln(a / e); < 0.1 stable, 0.1–0.25 moderate shift, > 0.25 significant shift.
    """
    expected = np.asarray(expected, dtype=float)
    actual = np.asarray(actual, dtype=float)
    edges = np.unique(np.quantile(expected, np.linspace(0, 1, bins + 1)[1:-1]))
    e = np.bincount(np.searchsorted(edges, expected, side="right"), minlength=len(edges) + 1) / len(expected)
    a = np.bincount(np.searchsorted(edges, actual, side="right"), minlength=len(edges) + 1) / len(actual)
    e, a = np.clip(e, eps, None), np.clip(a, eps, None)
    return float(np.sum((a - e) * np.log(a / e)))


def roc_points(y: np.ndarray, p: np.ndarray, max_points: int = 200) -> dict:
    """A thinned ROC curve (fpr, tpr) for plotting and JSON."""
    fpr, tpr, _ = roc_curve(y, p)
    keep = np.unique(np.linspace(0, len(fpr) - 1, min(max_points, len(fpr))).astype(int))
    return {"fpr": fpr[keep].tolist(), "tpr": tpr[keep].tolist()}


def binary_metrics(y: np.ndarray, p: np.ndarray, threshold: float = 0.5) -> dict:
    """All headline metrics of scores ``p`` for labels ``y`` (1 = event, e.g. default).

    Decisions are ``p >= threshold``. Returns auc, ks, accuracy, f1, precision, sensitivity
    (recall), specificity, brier, ece, n, positive_rate and the confusion counts.
    """
    y = np.asarray(y).astype(int).ravel()
    p = np.asarray(p, dtype=float).ravel()
    pred = (p >= threshold).astype(int)
    tp = int(np.sum((pred == 1) & (y == 1)))
    tn = int(np.sum((pred == 0) & (y == 0)))
    fp = int(np.sum((pred == 1) & (y == 0)))
    fn = int(np.sum((pred == 0) & (y == 1)))
    two_classes = len(np.unique(y)) == 2
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return {
        "auc": roc_auc(y, p),
        "ks": ks_statistic(y, p) if two_classes else float("nan"),
        "accuracy": (tp + tn) / max(len(y), 1),
        "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "precision": precision,
        "sensitivity": recall,
        "specificity": tn / (tn + fp) if tn + fp else 0.0,
        "brier": float(brier_score_loss(y, p)) if len(y) else float("nan"),
        "ece": expected_calibration_error(y, p),
        "threshold": float(threshold),
        "n": int(len(y)),
        "positive_rate": float(y.mean()) if len(y) else float("nan"),
        "tp": tp, "tn": tn, "fp": fp, "fn": fn,
    }
