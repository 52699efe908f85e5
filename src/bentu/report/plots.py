"""Plots for reports (matplotlib, Agg backend). Axis text is kept in neutral technical terms
(AUC, KS, FPR, TPR); the report's captions carry the run's language."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.metrics import roc_auc_score, roc_curve  # noqa: E402

from bentu.report.fonts import use_cjk_font  # noqa: E402

use_cjk_font()

__all__ = ["roc_plot", "ks_plot", "calibration_plot", "score_by_group_plot", "bar_plot", "line_plot"]


def _fig(w: float = 5.0, h: float = 3.6):
    fig, ax = plt.subplots(figsize=(w, h))
    ax.grid(alpha=0.3)
    return fig, ax


def roc_plot(curves: dict[str, tuple[np.ndarray, np.ndarray]]):
    """ROC curves of several models: ``{name: (y, p)}``."""
    fig, ax = _fig()
    for name, (y, p) in curves.items():
        fpr, tpr, _ = roc_curve(y, p)
        ax.plot(fpr, tpr, label=f"{name} (AUC {roc_auc_score(y, p):.3f})")
    ax.plot([0, 1], [0, 1], ls="--", c="grey", lw=0.8)
    ax.set(xlabel="False positive rate", ylabel="True positive rate", title="ROC")
    ax.legend(fontsize=8)
    return fig


def ks_plot(y: np.ndarray, p: np.ndarray):
    """Cumulative score distributions of events and non-events, with the KS gap marked."""
    fig, ax = _fig()
    grid = np.linspace(0, 1, 201)
    pos = np.sort(p[y == 1])
    neg = np.sort(p[y == 0])
    cdf_pos = np.searchsorted(pos, grid, side="right") / max(len(pos), 1)
    cdf_neg = np.searchsorted(neg, grid, side="right") / max(len(neg), 1)
    gap = cdf_neg - cdf_pos
    i = int(np.argmax(gap))
    ax.plot(grid, cdf_neg, label="non-events (y=0)")
    ax.plot(grid, cdf_pos, label="events (y=1)")
    ax.vlines(grid[i], cdf_pos[i], cdf_neg[i], colors="red", label=f"KS = {gap[i]:.3f} at {grid[i]:.2f}")
    ax.set(xlabel="score", ylabel="cumulative share", title="KS")
    ax.legend(fontsize=8)
    return fig


def calibration_plot(curve: dict):
    """Reliability diagram from :func:`bentu.audit.metrics.calibration_curve`."""
    fig, ax = _fig()
    mp = np.asarray(curve["mean_predicted"], dtype=float)
    obs = np.asarray(curve["observed_rate"], dtype=float)
    ok = ~np.isnan(mp)
    ax.plot([0, 1], [0, 1], ls="--", c="grey", lw=0.8)
    ax.plot(mp[ok], obs[ok], marker="o")
    ax.set(xlabel="mean predicted probability", ylabel="observed rate", title="Calibration")
    return fig


def score_by_group_plot(p: np.ndarray, groups: np.ndarray, title: str = "Score by group"):
    """Score distributions per group (box plot), e.g. per lender."""
    fig, ax = _fig(6.0, 3.6)
    names = sorted(map(str, np.unique(groups)))
    data = [p[groups.astype(str) == g] for g in names]
    ax.boxplot(data, showfliers=False)
    ax.set_xticks(range(1, len(names) + 1), names, rotation=30, ha="right", fontsize=8)
    ax.set(ylabel="score", title=title)
    return fig


def bar_plot(labels: list[str], values: list[float], *, title: str, ylabel: str, ref: float | None = None):
    fig, ax = _fig()
    ax.bar(range(len(values)), values)
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right", fontsize=8)
    if ref is not None:
        ax.axhline(ref, ls="--", c="red", lw=0.8)
    ax.set(title=title, ylabel=ylabel)
    return fig


def line_plot(series: dict[str, tuple[list[float], list[float]]], *, title: str, xlabel: str, ylabel: str):
    fig, ax = _fig()
    for name, (x, y) in series.items():
        ax.plot(x, y, marker="o", label=name)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.legend(fontsize=8)
    return fig
