"""A data profile: rows, columns and roles, missing values, duplicates, class balance and
per-institution counts — the data governance evidence of a run (data_profile.json)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bentu.data.schema import ColumnRoles

__all__ = ["profile_table"]


def _role(col: str, roles: ColumnRoles) -> str:
    if col == roles.target:
        return "target"
    if col in roles.identifiers:
        return "identifier"
    if col == roles.institution:
        return "institution"
    if col in roles.dropped:
        return "dropped"
    if col in roles.features:
        return "sensitive_feature" if col in roles.sensitive else "feature"
    if col in roles.sensitive:
        return "sensitive"
    return "unused"


def profile_table(df: pd.DataFrame, y: np.ndarray, roles: ColumnRoles, *, source: dict, split: dict | None = None) -> dict:
    """Profile of the loaded table (values are aggregates only: no raw identifier values)."""
    columns = []
    for col in df.columns:
        s = df[col]
        entry = {
            "name": str(col), "role": _role(str(col), roles), "dtype": str(s.dtype),
            "missing": int(s.isna().sum()), "missing_rate": float(s.isna().mean()),
            "distinct": int(s.nunique(dropna=True)),
        }
        if entry["role"] in ("feature", "sensitive_feature", "sensitive") and pd.api.types.is_numeric_dtype(s):
            entry.update(min=float(s.min()), max=float(s.max()), mean=float(s.mean()))
        columns.append(entry)
    profile = {
        "source": source,
        "rows": int(len(df)),
        "columns": columns,
        "roles": roles.as_dict(),
        "duplicates": int(df.duplicated().sum()),
        "class_balance": {"positive": int(y.sum()), "negative": int(len(y) - y.sum()), "positive_rate": float(y.mean())},
    }
    if roles.institution:
        inst = df[roles.institution].astype(str)
        profile["institutions"] = {
            str(k): {"rows": int((inst == k).sum()), "positive_rate": float(y[(inst == k).to_numpy()].mean())}
            for k in sorted(inst.unique())
        }
    if split:
        profile["split"] = split
    return profile
