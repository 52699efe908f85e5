"""Generalisation steps as data, so that what k-anonymity did to a training column is part of the
fitted preprocessing and is applied identically to a raw record at scoring time.

A step is a JSON-ready dict:

- ``{"op": "band", "width": w}``: a number becomes the centre of its band of width ``w``;
- ``{"op": "blank"}``: every number becomes missing (the column is suppressed);
- ``{"op": "region", "regions": {...}}``: a province (its first two characters) becomes its
  region of China, anything else ``"*"``;
- ``{"op": "prefix", "chars": n}``: a date ``YYYY-MM-DD`` keeps its first ``n`` characters;
- ``{"op": "star"}``: every non-missing value becomes ``"*"``.

Every step is idempotent (applying it to generalised values changes nothing), so a column that
was generalised before fitting can be passed through the step again.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from bentu.errors import DataError

__all__ = ["generalise_series", "generalise_value", "STEP_OPS"]

STEP_OPS = ("band", "blank", "region", "prefix", "star")
_LONG_NAMES = {"内蒙": "内蒙古", "黑龙": "黑龙江"}


def _check(step: dict) -> str:
    op = step.get("op") if isinstance(step, dict) else None
    if op not in STEP_OPS:
        raise DataError(f"Unknown generalisation step {step!r}; expected one of {', '.join(STEP_OPS)}.",
                        f"未知的泛化步骤 {step!r}；应为 {', '.join(STEP_OPS)} 之一。")
    return op


def _region_key(text: str) -> str:
    key = text.replace("内蒙古", "内蒙")[:2]
    return _LONG_NAMES.get(key, key)


def generalise_series(s: pd.Series, step: dict) -> pd.Series:
    """Apply one generalisation ``step`` to a column (missing values stay missing)."""
    op = _check(step)
    if op == "band":
        w = float(step["width"])
        x = pd.to_numeric(s, errors="coerce")
        return (np.floor(x / w) * w + (w - 1) / 2).where(x.notna())
    if op == "blank":
        return pd.Series(np.nan, index=s.index, dtype=float)
    if op == "star":
        return s.where(s.isna(), "*")
    text = s.astype("string")
    if op == "prefix":
        return text.str[: int(step["chars"])]
    regions = step["regions"]
    return text.map(lambda p: regions.get(_region_key(p), "*") if isinstance(p, str) else p)


def generalise_value(value, step: dict):
    """:func:`generalise_series` for one value (``None`` for missing)."""
    op = _check(step)
    missing = value is None or (isinstance(value, float) and math.isnan(value))
    if missing:
        return None
    if op == "band":
        try:
            x = float(value)
        except (TypeError, ValueError):
            return None
        if not math.isfinite(x):
            return None
        w = float(step["width"])
        return math.floor(x / w) * w + (w - 1) / 2
    if op == "blank":
        return None
    if op == "star":
        return "*"
    if op == "prefix":
        return str(value)[: int(step["chars"])]
    return step["regions"].get(_region_key(str(value)), "*")
