"""Re-identification risk: k-anonymity over quasi-identifiers, and generalisation until a
target k is reached (Datafly-style: generalise the quasi-identifier with the most distinct
values one level at a time, then suppress the records still in classes smaller than k).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from bentu.data.generalize import generalise_series
from bentu.errors import ConfigError, DataError

__all__ = ["KAnonymity", "k_anonymity", "generalize_to_k", "REGIONS"]

# Province → region of China (the level above province in the hierarchy).
REGIONS = {
    "华北": "北京 天津 河北 山西 内蒙古",
    "东北": "辽宁 吉林 黑龙江",
    "华东": "上海 江苏 浙江 安徽 福建 江西 山东 台湾",
    "华中": "河南 湖北 湖南",
    "华南": "广东 广西 海南 香港 澳门",
    "西南": "重庆 四川 贵州 云南 西藏",
    "西北": "陕西 甘肃 青海 宁夏 新疆",
}
_PROVINCE_REGION = {p: r for r, ps in REGIONS.items() for p in ps.split()}


@dataclass
class KAnonymity:
    """k (the size of the smallest equivalence class) and how many records are at risk."""

    k: int
    classes: int
    records_below: dict[int, int]
    quasi_identifiers: list[str]

    def to_dict(self) -> dict:
        return {"k": self.k, "smallest_class_size": self.k, "equivalence_classes": self.classes,
                "quasi_identifiers": self.quasi_identifiers}


def k_anonymity(df: pd.DataFrame, quasi_identifiers: list[str]) -> KAnonymity:
    """Measure k-anonymity of ``df`` over ``quasi_identifiers`` (missing values form a class).

    Raises
    ------
    DataError
        A quasi-identifier is not a column of ``df``.
    """
    missing = sorted(set(quasi_identifiers) - set(map(str, df.columns)))
    if missing:
        raise DataError(
            f"Quasi-identifier column(s) {', '.join(repr(c) for c in missing[:5])} not found. "
            f"Columns: {', '.join(map(str, list(df.columns)[:20]))}.",
            f"准标识符列 {', '.join(repr(c) for c in missing[:5])} 不存在。"
            f"现有列：{', '.join(map(str, list(df.columns)[:20]))}。")
    if not quasi_identifiers or df.empty:
        return KAnonymity(len(df), 1 if len(df) else 0, {}, list(quasi_identifiers))
    sizes = df.groupby(list(quasi_identifiers), dropna=False, sort=False).size()
    return KAnonymity(int(sizes.min()), int(len(sizes)), {}, list(quasi_identifiers))


def _class_sizes(df: pd.DataFrame, qis: list[str]) -> pd.Series:
    return df.groupby(qis, dropna=False, sort=False)[qis[0]].transform("size").fillna(0)


def _levels(series: pd.Series) -> list[dict]:
    """Generalisation steps for one column, from fine to fully suppressed (see
    :mod:`bentu.data.generalize`: each is data, so scoring applies the same step)."""
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        return [{"op": "band", "width": w} for w in (5, 10, 20, 40)] + [{"op": "blank"}]
    text = series.astype("string")
    if text.dropna().str[:2].isin(list(_PROVINCE_REGION) + ["内蒙", "黑龙"]).mean() > 0.8:
        regions = {**_PROVINCE_REGION, **{r: r for r in REGIONS}}
        return [{"op": "region", "regions": regions}, {"op": "star"}]
    if text.str.match(r"^\d{4}-\d{2}-\d{2}").mean() > 0.8:
        return [{"op": "prefix", "chars": 7}, {"op": "prefix", "chars": 4}, {"op": "star"}]
    return [{"op": "star"}]


def generalize_to_k(df: pd.DataFrame, quasi_identifiers: list[str], k: int, *,
                    max_suppression: float = 0.05, frozen=()) -> tuple[pd.DataFrame, dict]:
    """Generalise ``quasi_identifiers`` until every equivalence class has at least ``k``
    records, suppressing (dropping) at most ``max_suppression`` of the records.

    Columns in ``frozen`` count towards k but are never generalised.  Returns the generalised
    copy and a report: k before and after, the level reached per column, records suppressed.
    """
    if not isinstance(k, int) or k < 1:
        raise ConfigError(f"The 'k_anonymity' parameter must be an integer >= 1. Got {k!r} instead.",
                          f"参数 'k_anonymity' 必须是 >= 1 的整数，实际为 {k!r}。")
    qis = list(quasi_identifiers)
    before = k_anonymity(df, qis)
    out = df.copy()
    levels = {c: _levels(df[c]) for c in qis if c not in frozen}
    reached = {c: 0 for c in levels}
    budget = int(max_suppression * len(out))
    while qis:
        sizes = _class_sizes(out, qis)
        if int((sizes < k).sum()) <= budget:
            break
        open_cols = [c for c in levels if reached[c] < len(levels[c])]
        if not open_cols:
            break
        col = max(open_cols, key=lambda c: out[c].nunique(dropna=True))
        out[col] = generalise_series(df[col], levels[col][reached[col]])
        reached[col] += 1
    suppressed = 0
    if qis:
        sizes = _class_sizes(out, qis)
        small = sizes < k
        suppressed = int(small.sum())
        out = out.loc[~small]
    after = k_anonymity(out, qis)
    report = {
        "target_k": k,
        "before": before.to_dict(),
        "after": after.to_dict(),
        "k": after.k,
        "smallest_class_size": after.k,
        "quasi_identifiers": qis,
        "generalisation_levels": {c: reached[c] for c in reached},
        "generalised_columns": [c for c in reached if reached[c]],
        # the step each generalised column went through, for the fitted preprocessing
        "steps": {c: levels[c][reached[c] - 1] for c in reached if reached[c]},
        "not_generalised": sorted(set(qis) & set(frozen)),
        "records_suppressed": suppressed,
        "reached": after.k >= k or len(out) == 0,
    }
    return out, report
