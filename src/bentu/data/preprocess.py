"""Tabular preprocessing fitted on the training split only, saved as data (JSON), so raw rows
can be scored later by a Predictor with no Python object from the run."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from bentu.data.generalize import generalise_series
from bentu.errors import DataError

__all__ = ["TabularPreprocessor"]

_MAX_CATEGORIES = 30
#: A category seen fewer times than this in training is not a level of its own (it goes to
#: ``__other__``), so a value that identifies one person never becomes part of the model.
#: Short integer codes (at most 6 digits, which never identify anyone) are exempt.
MIN_CATEGORY_COUNT = 5
OTHER = "__other__"
MISSING = "__missing__"


class TabularPreprocessor:
    """Impute, transform, scale numeric columns; one-hot encode categorical ones.

    Numeric: median imputation plus a missing-value indicator (when the training column had
    missing values), a signed log transform for heavy-tailed columns (|skew| > 2), then
    standardisation with training mean and std. Categorical: one-hot over the training
    categories (at most 30 most frequent, each seen at least ``MIN_CATEGORY_COUNT`` times;
    rarer and unseen values go to ``__other__``).

    Parameters
    ----------
    numeric, categorical : list of str
        Raw column names in each group.
    generalise : dict, optional
        Column → generalisation step (:mod:`bentu.data.generalize`) that the privacy gate
        applied to the training rows (k-anonymity). It is part of the fitted preprocessing:
        :meth:`transform` applies it to raw rows first, so scoring sees what training saw.
    exclude_levels : dict, optional
        Column → values that are never a category (e.g. pseudonyms the privacy gate put in
        place of PII: a raw record carries the PII, not the pseudonym, so both go to
        ``__other__``). Used by :meth:`fit` only; not saved.
    """

    def __init__(self, *, numeric: list[str], categorical: list[str], generalise: dict[str, dict] | None = None,
                 exclude_levels: dict[str, set] | None = None):
        self.numeric = list(numeric)
        self.categorical = list(categorical)
        self.exclude_levels = {c: {str(v) for v in vals} for c, vals in (exclude_levels or {}).items()}
        self.generalise = {c: dict(v) for c, v in (generalise or {}).items() if c in self.input_columns}

    def _generalised(self, df: pd.DataFrame) -> pd.DataFrame:
        if not self.generalise:
            return df
        df = df.copy()
        for col, step in self.generalise.items():
            df[col] = generalise_series(df[col], step)
        return df

    def fit(self, df: pd.DataFrame) -> "TabularPreprocessor":
        """Learn imputation values, transforms, scales and categories from ``df`` (train only)."""
        df = self._generalised(df)
        self.numeric_: list[dict[str, Any]] = []
        for col in self.numeric:
            x = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)
            finite = x[np.isfinite(x)]
            median = float(np.median(finite)) if finite.size else 0.0
            skew = float(pd.Series(finite).skew()) if finite.size > 2 else 0.0
            log = bool(abs(skew) > 2)
            filled = np.where(np.isfinite(x), x, median)
            t = np.sign(filled) * np.log1p(np.abs(filled)) if log else filled
            std = float(t.std()) or 1.0
            self.numeric_.append({
                "name": col, "median": median, "log": log, "mean": float(t.mean()), "std": std,
                "indicator": bool(np.isnan(x).any()),
            })
        self.categorical_: list[dict[str, Any]] = []
        for col in self.categorical:
            counts = df[col].astype("string").fillna(MISSING).value_counts()
            # short integer codes (repayment status -2..9) cannot identify anyone; other values must be frequent
            code = counts.index.to_series().str.fullmatch(r"-?\d{1,6}").fillna(False).to_numpy(dtype=bool)
            frequent = counts[((counts.to_numpy() >= MIN_CATEGORY_COUNT) | code | (counts.index == MISSING))
                              & ~counts.index.isin(list(self.exclude_levels.get(col, ())))]
            cats = [str(c) for c in frequent.index[:_MAX_CATEGORIES]]
            self.categorical_.append({"name": col, "categories": cats, "other": len(counts) > len(cats)})
        self.feature_names_ = self._feature_names()
        self.groups_ = self._groups()
        return self

    def _feature_names(self) -> list[str]:
        names = []
        for s in self.numeric_:
            names.append(s["name"])
            if s["indicator"]:
                names.append(f"{s['name']}__missing")
        for s in self.categorical_:
            names += [f"{s['name']}={c}" for c in s["categories"]] + [f"{s['name']}=__other__"]
        return names

    def _groups(self) -> dict[str, list[int]]:
        """Raw column → indices of its preprocessed columns (to sum attributions back)."""
        groups: dict[str, list[int]] = {}
        for i, name in enumerate(self._feature_names()):
            raw = name.split("=", 1)[0].removesuffix("__missing")
            groups.setdefault(raw, []).append(i)
        return groups

    @property
    def input_columns(self) -> list[str]:
        return self.numeric + self.categorical

    def transform(self, df: pd.DataFrame, *, source: str = "input") -> np.ndarray:
        """Transform raw rows into a float32 matrix; missing columns are an error naming them."""
        missing = sorted(set(self.input_columns) - set(map(str, df.columns)))
        if missing:
            shown = ", ".join(map(repr, missing[:5])) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
            raise DataError(
                f"{source}: missing column(s) {shown} that the model was trained with.",
                f"{source}：缺少模型训练时使用的列 {shown}。",
            )
        df = self._generalised(df)
        n = len(df)
        blocks: list[np.ndarray] = []
        for s in self.numeric_:
            x = pd.to_numeric(df[s["name"]], errors="coerce").to_numpy(dtype=float)
            isnan = ~np.isfinite(x)
            x = np.where(isnan, s["median"], x)
            if s["log"]:
                x = np.sign(x) * np.log1p(np.abs(x))
            blocks.append(((x - s["mean"]) / s["std"]).reshape(n, 1))
            if s["indicator"]:
                blocks.append(isnan.astype(float).reshape(n, 1))
        for s in self.categorical_:
            values = df[s["name"]].astype("string").fillna(MISSING).to_numpy()
            cats = s["categories"]
            onehot = np.zeros((n, len(cats) + 1))
            index = {c: i for i, c in enumerate(cats)}
            cols = np.array([index.get(str(v), len(cats)) for v in values], dtype=int)
            onehot[np.arange(n), cols] = 1.0
            blocks.append(onehot)
        return np.hstack(blocks).astype(np.float32) if blocks else np.zeros((n, 0), np.float32)

    def fit_transform(self, df: pd.DataFrame) -> np.ndarray:
        return self.fit(df).transform(df)

    def view(self, df: pd.DataFrame) -> pd.DataFrame:
        """The input columns of raw rows as the model sees them: generalised, and each
        categorical value that is not a training category replaced by ``"__other__"``.

        Reason codes and drift profiles are computed on this view, so they quote only values
        that are part of the fitted preprocessing (never a rare raw value) and agree between
        training and scoring.
        """
        self.transform(df.iloc[:0])  # missing columns: the same error as transform
        out = self._generalised(df[self.input_columns].copy())
        for s in self.categorical_:
            col = out[s["name"]].astype("string")
            known = col.isin(s["categories"]) | col.isna()
            out[s["name"]] = col.where(known, OTHER).astype(object).where(col.notna(), None)
        return out

    def to_dict(self) -> dict:
        """The fitted preprocessing as plain data (for preprocess.json)."""
        return {
            "kind": "tabular", "version": 1, "numeric": self.numeric_, "categorical": self.categorical_,
            "feature_names": self.feature_names_, "groups": self.groups_, "generalise": self.generalise,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "TabularPreprocessor":
        """Rebuild a fitted preprocessor from :meth:`to_dict` output."""
        self = cls(numeric=[s["name"] for s in d["numeric"]], categorical=[s["name"] for s in d["categorical"]],
                   generalise=d.get("generalise"))
        self.numeric_, self.categorical_ = d["numeric"], d["categorical"]
        self.feature_names_ = self._feature_names()
        self.groups_ = self._groups()
        return self
