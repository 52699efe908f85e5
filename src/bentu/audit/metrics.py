"""Metrics of a binary score: discrimination (AUC, KS), decisions (accuracy, F1, sensitivity,
specificity; the clinical set with PPV and NPV), operating-point rules, calibration (Brier, ECE
and the reliability curve) and stability (PSI).

Confusion counts come from one helper (:func:`confusion_counts`). Zero-division rules:
:func:`binary_metrics` (credit, learning) gives 0.0 for a ratio with an empty denominator, as
scikit-learn's ``zero_division=0``; :func:`clinical_metrics` (imaging) gives NaN, because a
sensitivity without a single positive case is undefined, not zero, in a clinical report."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import brier_score_loss, roc_curve

from bentu.errors import ConfigError
from bentu.metrics import roc_auc

__all__ = ["binary_metrics", "clinical_metrics", "choose_threshold", "confusion_counts", "ks_statistic", "psi", "calibration_curve", "expected_calibration_error", "roc_points"]


SMOOTH_BELOW = 200  # validation sets smaller than this get a smoothed accuracy rule (choose_threshold)


def confusion_counts(y: np.ndarray, p: np.ndarray, threshold: float) -> dict[str, int]:
    """tp, fp, tn, fn of the decisions ``p >= threshold`` against labels ``y`` (1 = event)."""
    y = np.asarray(y).astype(int).ravel()
    pred = np.asarray(p, dtype=float).ravel() >= threshold
    return {"tp": int((pred & (y == 1)).sum()), "fp": int((pred & (y == 0)).sum()),
            "tn": int((~pred & (y == 0)).sum()), "fn": int((~pred & (y == 1)).sum())}


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
    c = confusion_counts(y, p, threshold)
    tp, fp, tn, fn = c["tp"], c["fp"], c["tn"], c["fn"]
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


def choose_threshold(y: np.ndarray, p: np.ndarray, rule: str = "accuracy", target_sensitivity: float = 0.9,
                     smooth: int | None = None) -> float:
    """Pick a decision threshold on validation scores.

    Parameters
    ----------
    rule : {"accuracy", "youden", "target_sensitivity"}
        Maximise accuracy, maximise Youden's J (sensitivity + specificity − 1), or take the
        highest threshold whose sensitivity reaches ``target_sensitivity``. Ties are broken by
        the middle of the tied range.
    smooth : int or None
        ``accuracy`` rule only: average the validation accuracy over ``smooth`` neighbouring
        candidate thresholds on each side before taking the maximum, so the threshold sits on a
        plateau rather than on an isolated spike of a few images. ``None`` (default):
        ``len(y) // 15`` for validation sets under :data:`SMOOTH_BELOW` images (±5 thresholds for
        BreastMNIST's 78), none for larger ones.
    """
    y = np.asarray(y).astype(int)
    p = np.asarray(p, dtype=float)
    u = np.unique(p)
    cands = np.concatenate([[u[0] - 1e-6], (u[:-1] + u[1:]) / 2, [u[-1] + 1e-6]]) if len(u) else np.array([0.5])
    pred = p[None, :] >= cands[:, None]  # (t, n)
    tp = (pred & (y == 1)).sum(1)
    tn = (~pred & (y == 0)).sum(1)
    pos, neg = max((y == 1).sum(), 1), max((y == 0).sum(), 1)
    sens, spec = tp / pos, tn / neg
    if rule == "accuracy":
        score = (tp + tn) / len(y)
        k = (len(y) // 15 if len(y) < SMOOTH_BELOW else 0) if smooth is None else int(smooth)
        if k > 0 and len(score) > 1:  # moving average over ±k candidates, edges repeated
            score = np.convolve(np.pad(score, k, mode="edge"), np.ones(2 * k + 1) / (2 * k + 1), mode="valid")
    elif rule == "youden":
        score = sens + spec - 1
    elif rule == "target_sensitivity":
        ok = np.flatnonzero(sens >= target_sensitivity)
        return float(cands[ok.max()]) if len(ok) else float(cands[0])
    else:
        raise ConfigError(
            f"imaging.operating_point must be accuracy, youden or target_sensitivity. Got {rule!r} instead.",
            f"imaging.operating_point 必须是 accuracy、youden 或 target_sensitivity，实际为 {rule!r}。",
        )
    best = np.flatnonzero(np.isclose(score, score.max()))
    return float(cands[best[len(best) // 2]])


def clinical_metrics(y: np.ndarray, p: np.ndarray, threshold: float) -> dict:
    """AUC, accuracy, sensitivity, specificity, PPV, NPV and the confusion counts at ``threshold``."""
    c = confusion_counts(y, p, threshold)
    tp, fp, tn, fn = c["tp"], c["fp"], c["tn"], c["fn"]
    div = lambda a, b: a / b if b else float("nan")  # noqa: E731
    return {
        "auc": roc_auc(y, p),
        "accuracy": div(tp + tn, len(y)),
        "sensitivity": div(tp, tp + fn),
        "specificity": div(tn, tn + fp),
        "ppv": div(tp, tp + fp),
        "npv": div(tn, tn + fn),
        "threshold": float(threshold),
        "tp": tp, "fp": fp, "tn": tn, "fn": fn, "n": int(len(y)),
    }
