"""Column roles: which column is the target, which are features, sensitive attributes,
the institution that owns a row, and direct identifiers — checked once, at load time."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bentu.errors import DataError

__all__ = ["ColumnRoles", "resolve_roles", "binary_target"]


@dataclass
class ColumnRoles:
    """Roles of a table's columns. ``features`` never includes the target, identifiers,
    ground-truth or dropped columns."""

    target: str
    features: list[str]
    categorical: list[str]
    sensitive: list[str] = field(default_factory=list)
    institution: str | None = None
    identifiers: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "target": self.target, "features": self.features, "categorical": self.categorical,
            "sensitive": self.sensitive, "institution": self.institution, "identifiers": self.identifiers,
            "dropped": self.dropped,
        }


def _missing_message(source: str, key: str, missing: list[str], columns: list[str]) -> DataError:
    missing = sorted(missing)
    shown = ", ".join(repr(m) for m in missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
    hints = []
    for m in missing[:5]:
        close = difflib.get_close_matches(m, columns, n=1, cutoff=0.6)
        if close:
            hints.append(f"{m!r} → {close[0]!r}?")
    hint_en = f" Did you mean: {'; '.join(hints)}" if hints else ""
    cols = ", ".join(columns[:30]) + (" …" if len(columns) > 30 else "")
    return DataError(
        f"{source}: column(s) {shown} named in {key} not found.{hint_en} Columns in the file: {cols}.",
        f"{source}：{key} 中的列 {shown} 不存在。{('可能是：' + '；'.join(hints)) if hints else ''}文件中的列：{cols}。",
    )


def resolve_roles(
    df: pd.DataFrame,
    *,
    source: str,
    target: str | None,
    features: list[str] | None = None,
    categorical: list[str] | None = None,
    sensitive: list[str] | None = None,
    institution: str | None = None,
    identifiers: list[str] | None = None,
    drop: list[str] | None = None,
) -> ColumnRoles:
    """Check that every named column exists and derive the feature list.

    With ``features=None`` every column without another role is a feature. Sensitive
    attributes are not features unless listed in ``features`` explicitly.
    """
    columns = [str(c) for c in df.columns]
    if not target:
        raise DataError(
            f"{source}: no target column given. Set data.target in the recipe (one of: {', '.join(columns[:30])}).",
            f"{source}：未指定目标列。请在配方中设置 data.target（可选：{', '.join(columns[:30])}）。",
        )
    named = {
        "data.target": [target], "data.features": features or [], "data.categorical": categorical or [],
        "data.sensitive": sensitive or [], "data.institution": [institution] if institution else [],
        "data.identifiers": identifiers or [], "data.drop": drop or [],
    }
    for key, cols in named.items():
        missing = [c for c in cols if c not in columns]
        if missing:
            raise _missing_message(source, key, missing, columns)
    excluded = {target, *(identifiers or []), *(drop or []), *([institution] if institution else []), *(sensitive or [])}
    feats = list(features) if features is not None else [c for c in columns if c not in excluded]
    clash = sorted(set(feats) & ({target} | set(identifiers or [])))
    if clash:
        raise DataError(
            f"{source}: column(s) {', '.join(map(repr, clash))} cannot be both a feature and the target or an identifier.",
            f"{source}：列 {', '.join(map(repr, clash))} 不能同时是特征和目标列或标识符。",
        )
    if not feats:
        raise DataError(f"{source}: no feature columns are left after removing the target and identifiers.",
                        f"{source}：去除目标列和标识符后没有剩余的特征列。")
    cats = [c for c in feats if c in set(categorical or []) or not pd.api.types.is_numeric_dtype(df[c])]
    return ColumnRoles(target, feats, cats, list(sensitive or []), institution, list(identifiers or []), list(drop or []))


def binary_target(df: pd.DataFrame, target: str, source: str) -> np.ndarray:
    """The target as 0/1 integers; any other set of values is an error naming them."""
    col = df[target]
    if col.isna().any():
        n = int(col.isna().sum())
        raise DataError(
            f"{source}: target column {target!r} has {n} missing value(s). Remove those rows or fill them.",
            f"{source}：目标列 {target!r} 有 {n} 个缺失值。请删除或补全这些行。",
        )
    values = sorted(pd.unique(col).tolist(), key=str)
    if set(values) <= {0, 1} and len(values) == 2:
        return col.astype(int).to_numpy()
    if set(map(str, values)) <= {"0", "1", "true", "false", "True", "False"} and len(values) == 2:
        return col.astype(str).str.lower().isin(["1", "true"]).astype(int).to_numpy()
    shown = ", ".join(repr(v) for v in values[:6]) + (" …" if len(values) > 6 else "")
    raise DataError(
        f"{source}: target column {target!r} must be binary (0/1) with both classes present; "
        f"found {len(values)} distinct value(s): {shown}. Map it to 0/1 first (1 = the event, e.g. default).",
        f"{source}：目标列 {target!r} 必须是二元的（0/1）且两类都出现；实际有 {len(values)} 个不同取值：{shown}。"
        "请先映射为 0/1（1 表示事件，例如违约）。",
    )
