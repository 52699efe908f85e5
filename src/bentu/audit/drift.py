"""Drift of new data against the training data: population stability index (PSI) per feature
and of the model's score.

At training time :func:`reference_profile` summarises the training rows as plain data (saved as
``model/reference.json``); later :func:`drift_report` compares new rows with that profile, so
the training data itself is never needed again.

Binning. Numeric columns: interior quantile edges of the training values (``bins`` bins, edges
de-duplicated, so a column with few distinct values gets fewer bins); a value ``x`` falls in
bin ``i`` = number of edges ``<= x`` (the same convention as :func:`bentu.audit.metrics.psi`).
Missing values form one extra bin. Categorical columns: one bin per training category, one
``__other__`` bin for values never seen in training, one bin for missing values.

PSI = Σ (new − ref) · ln(new / ref) over the bins, proportions floored at ``1e-4``
(as :func:`bentu.audit.metrics.psi`). Bands: PSI < 0.1 stable, 0.1 ≤ PSI < 0.25 moderate,
PSI ≥ 0.25 significant.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from bentu.errors import DataError

__all__ = ["reference_profile", "drift_report", "psi_band", "PSI_BANDS"]

#: Upper bounds of the "stable" and "moderate" bands; at or above the second: "significant".
PSI_BANDS = (0.1, 0.25)
_EPS = 1e-4  # floor on bin proportions, as in bentu.audit.metrics.psi
_OTHER = "__other__"
_MAX_CATEGORIES = 50  # categories kept in a profile; rarer ones pool into __other__
_VERSION = 1


def psi_band(value: float) -> str:
    """``"stable"`` (< 0.1), ``"moderate"`` (0.1–0.25) or ``"significant"`` (≥ 0.25)."""
    if value is None or not math.isfinite(value):
        return "unknown"
    return "stable" if value < PSI_BANDS[0] else "moderate" if value < PSI_BANDS[1] else "significant"


def _psi(ref: np.ndarray, new: np.ndarray) -> float:
    """PSI of two proportion vectors over the same bins."""
    r = np.clip(np.asarray(ref, dtype=float), _EPS, None)
    n = np.clip(np.asarray(new, dtype=float), _EPS, None)
    return float(np.sum((n - r) * np.log(n / r)))


def _is_numeric(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)


def _numeric_profile(x: np.ndarray, bins: int) -> dict[str, Any]:
    """Quantile edges and bin proportions (last entry: missing) of a numeric column."""
    finite = np.isfinite(x)
    vals = x[finite]
    edges = np.unique(np.quantile(vals, np.linspace(0, 1, bins + 1)[1:-1])) if vals.size else np.array([])
    counts = np.bincount(np.searchsorted(edges, vals, side="right"), minlength=len(edges) + 1)
    n = max(len(x), 1)
    return {
        "kind": "numeric",
        "edges": [float(e) for e in edges],
        "proportions": [float(c / n) for c in counts],
        "missing": float((~finite).sum() / n),
        "min": float(vals.min()) if vals.size else None,
        "max": float(vals.max()) if vals.size else None,
    }


def _categorical_profile(s: pd.Series) -> dict[str, Any]:
    """Category shares (most frequent first), the pooled rest and the missing share."""
    n = max(len(s), 1)
    values = s.astype("string")
    counts = values.dropna().value_counts()
    kept = counts.iloc[:_MAX_CATEGORIES]
    return {
        "kind": "categorical",
        "shares": {str(k): float(v / n) for k, v in kept.items()},
        "other": float(counts.iloc[_MAX_CATEGORIES:].sum() / n),
        "missing": float(values.isna().sum() / n),
    }


def reference_profile(
    df: pd.DataFrame, *, features: list[str], scores: np.ndarray, bins: int = 10
) -> dict:
    """Summarise training rows (features and model scores) for later drift checks.

    Parameters
    ----------
    df : pandas.DataFrame
        The training rows (raw, before preprocessing).
    features : list of str
        Columns to profile. Numeric dtypes get quantile bins; others are categorical.
    scores : numpy.ndarray
        The model's scores (probabilities) on ``df``, one per row.
    bins : int, default 10
        Number of quantile bins (fewer when a column has few distinct values); at least 2.

    Returns
    -------
    dict
        JSON-ready: ``{"version", "n_rows", "bins", "features": {name: profile}, "score": profile}``.

    Raises
    ------
    DataError
        If a feature is not a column of ``df`` or ``scores`` has the wrong length.
    """
    if not isinstance(bins, int) or bins < 2:
        raise DataError(
            f"The 'bins' parameter of reference_profile must be an int >= 2. Got {bins!r} instead.",
            f"reference_profile 的参数 'bins' 必须是 >= 2 的整数，实际为 {bins!r}。",
        )
    _check_columns(df, features, "training data", "训练数据")
    scores = np.asarray(scores, dtype=float).reshape(-1)
    if len(scores) != len(df):
        raise DataError(
            f"scores has {len(scores)} values but the training data has {len(df)} rows; pass one score per row.",
            f"scores 有 {len(scores)} 个值，但训练数据有 {len(df)} 行；每行应有一个分数。",
        )
    profiles = {}
    for col in features:
        s = df[col]
        profiles[col] = (_numeric_profile(s.to_numpy(dtype=float), bins) if _is_numeric(s)
                         else _categorical_profile(s))
    return {
        "version": _VERSION,
        "n_rows": int(len(df)),
        "bins": bins,
        "features": profiles,
        "score": _numeric_profile(scores, bins),
    }


def _check_columns(df: pd.DataFrame, columns: list[str], where: str, where_zh: str) -> None:
    """Raise a DataError naming (sorted, at most five) columns absent from ``df``."""
    missing = sorted(set(columns) - set(map(str, df.columns)))
    if missing:
        shown = ", ".join(map(repr, missing[:5])) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise DataError(
            f"The {where} lacks column(s) {shown} of the drift profile's features; "
            "supply rows that contain these columns.",
            f"{where_zh}缺少漂移画像所需的列 {shown}；请提供包含这些列的数据。",
        )


def _numeric_drift(prof: dict, x: np.ndarray) -> dict[str, Any]:
    """Compare a numeric column's new values with its profile."""
    edges = np.asarray(prof["edges"], dtype=float)
    finite = np.isfinite(x)
    n = max(len(x), 1)
    counts = np.bincount(np.searchsorted(edges, x[finite], side="right"), minlength=len(edges) + 1)
    new = list(counts / n) + [float((~finite).sum() / n)]
    ref = list(prof["proportions"]) + [prof["missing"]]
    labels = _bin_labels(edges) + ["missing"]
    keep = [i for i in range(len(ref)) if i < len(ref) - 1 or ref[-1] > 0 or new[-1] > 0]
    vals = x[finite]
    return {
        "kind": "numeric",
        "psi": _psi(np.take(ref, keep), np.take(new, keep)),
        "missing_ref": prof["missing"], "missing_new": new[-1],
        "out_of_range": float(((vals < (prof["min"] if prof["min"] is not None else -np.inf))
                               | (vals > (prof["max"] if prof["max"] is not None else np.inf))).sum() / n),
        "bins": [{"bin": labels[i], "ref": float(ref[i]), "new": float(new[i])} for i in keep],
    }


def _bin_labels(edges: np.ndarray) -> list[str]:
    if len(edges) == 0:
        return ["all"]
    fmt = lambda v: f"{v:.4g}"  # noqa: E731
    return ([f"< {fmt(edges[0])}"] + [f"[{fmt(a)}, {fmt(b)})" for a, b in zip(edges[:-1], edges[1:])]
            + [f">= {fmt(edges[-1])}"])


def _categorical_drift(prof: dict, s: pd.Series) -> dict[str, Any]:
    """Compare a categorical column's new values with its profile."""
    n = max(len(s), 1)
    values = s.astype("string")
    counts = values.dropna().value_counts()
    known = list(prof["shares"])
    new_shares = [float(counts.get(c, 0) / n) for c in known]
    unseen = sorted(str(c) for c in counts.index if str(c) not in prof["shares"])
    other_new = float(counts[[c for c in counts.index if str(c) not in prof["shares"]]].sum() / n)
    ref = list(prof["shares"].values()) + [prof["other"], prof["missing"]]
    new = new_shares + [other_new, float(values.isna().sum() / n)]
    labels = known + [_OTHER, "missing"]
    keep = [i for i in range(len(ref)) if i < len(known) or ref[i] > 0 or new[i] > 0]
    return {
        "kind": "categorical",
        "psi": _psi(np.take(ref, keep), np.take(new, keep)),
        "missing_ref": prof["missing"], "missing_new": new[-1],
        "new_categories": unseen[:20],
        "n_new_categories": len(unseen),
        "missing_categories": sorted(c for c in known if counts.get(c, 0) == 0),
        "bins": [{"bin": labels[i], "ref": float(ref[i]), "new": float(new[i])} for i in keep],
    }


def drift_report(reference: dict, df_new: pd.DataFrame, scores_new: np.ndarray | None) -> dict:
    """PSI of each profiled feature and of the score, new data against the reference profile.

    Parameters
    ----------
    reference : dict
        Output of :func:`reference_profile` (e.g. loaded from ``model/reference.json``).
    df_new : pandas.DataFrame
        New raw rows; must contain every profiled column (extra columns are ignored).
    scores_new : numpy.ndarray or None
        The model's scores on ``df_new``; ``None`` skips the score.

    Returns
    -------
    dict
        ``{"n_rows_ref", "n_rows_new", "bands", "features": {name: {"psi", "band", "kind",
        "missing_ref", "missing_new", "bins", ...}}, "score": {...} or None, "max_psi",
        "max_psi_feature", "by_band": {band: [names]}}``. Categorical entries add
        ``new_categories`` (values unseen in training) and ``missing_categories`` (training
        values absent now).

    Raises
    ------
    DataError
        If ``reference`` is not a profile or ``df_new`` lacks profiled columns (named) or has
        no rows.
    """
    if not isinstance(reference, dict) or "features" not in reference or "score" not in reference:
        raise DataError(
            "The reference profile is not a bentu drift profile (expected keys 'features' and 'score', "
            "as written by reference_profile); re-create model/reference.json with `bentu run`.",
            "参考画像不是 bentu 漂移画像（应含 'features' 和 'score' 键，由 reference_profile 生成）；"
            "请用 `bentu run` 重新生成 model/reference.json。",
        )
    _check_columns(df_new, list(reference["features"]), "new data", "新数据")
    if len(df_new) == 0:
        raise DataError("The new data has no rows; supply at least one row to compare.",
                        "新数据没有任何行；请至少提供一行数据。")
    features = {}
    for col, prof in reference["features"].items():
        s = df_new[col]
        if prof["kind"] == "numeric":
            x = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
            features[col] = _numeric_drift(prof, x)
        else:
            features[col] = _categorical_drift(prof, s)
        features[col]["band"] = psi_band(features[col]["psi"])
    score = None
    if scores_new is not None:
        sc = np.asarray(scores_new, dtype=float).reshape(-1)
        if len(sc) != len(df_new):
            raise DataError(
                f"scores_new has {len(sc)} values but the new data has {len(df_new)} rows; pass one score per row.",
                f"scores_new 有 {len(sc)} 个值，但新数据有 {len(df_new)} 行；每行应有一个分数。",
            )
        score = _numeric_drift(reference["score"], sc)
        score["band"] = psi_band(score["psi"])
    everything = dict(features, **({"__score__": score} if score else {}))
    worst = max(everything, key=lambda k: everything[k]["psi"]) if everything else None
    by_band: dict[str, list[str]] = {"stable": [], "moderate": [], "significant": []}
    for name, entry in features.items():
        by_band.setdefault(entry["band"], []).append(name)
    return {
        "n_rows_ref": reference.get("n_rows"),
        "n_rows_new": int(len(df_new)),
        "bands": {"stable": f"< {PSI_BANDS[0]}", "moderate": f"{PSI_BANDS[0]}–{PSI_BANDS[1]}",
                  "significant": f">= {PSI_BANDS[1]}"},
        "features": features,
        "score": score,
        "max_psi": everything[worst]["psi"] if worst else None,
        "max_psi_feature": ("score" if worst == "__score__" else worst),
        "by_band": by_band,
    }
