"""Column roles: which column is the target, which are features, sensitive attributes,
the institution that owns a row, and direct identifiers — checked once, at load time."""

from __future__ import annotations

import difflib
import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bentu.errors import DataError

__all__ = ["ColumnRoles", "resolve_roles", "binary_target", "mixed_columns"]

log = logging.getLogger(__name__)

# A text column whose non-missing values are at least this share numbers is "mostly numeric".
MIXED_NUMERIC_SHARE = 0.9


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
    warnings: list[str] = field(default_factory=list)

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
    numeric: list[str] | None = None,
) -> ColumnRoles:
    """Check that every named column exists and derive the feature list.

    With ``features=None`` every column without another role is a feature. Sensitive
    attributes are not features unless listed in ``features`` explicitly. A feature column is
    categorical when listed in ``categorical`` or when it holds text, unless listed in ``numeric``
    (its non-numbers are then missing values). A text column that is mostly numbers and listed in
    neither is logged as a warning with examples (see :func:`mixed_columns`).
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
        "data.identifiers": identifiers or [], "data.drop": drop or [], "data.numeric": numeric or [],
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
    both = sorted(set(categorical or []) & set(numeric or []))
    if both:
        raise DataError(
            f"{source}: column(s) {', '.join(map(repr, both))} are listed in both data.categorical and data.numeric; "
            "keep each in one of them.",
            f"{source}：列 {', '.join(map(repr, both))} 同时出现在 data.categorical 和 data.numeric 中；请只保留其一。",
        )
    forced = set(numeric or [])
    cats = [c for c in feats if c not in forced and (c in set(categorical or []) or not pd.api.types.is_numeric_dtype(df[c]))]
    undecided = [c for c in cats if c not in set(categorical or [])]
    notes = []
    for col, (share, examples) in mixed_columns(df, undecided).items():
        shown = ", ".join(repr(e) for e in examples)
        notes.append(
            f"{source}: column {col!r} is {share:.0%} numbers but also holds text ({shown}), so it is treated as "
            f"categorical. If it is a number, list it in data.numeric (the texts become missing values); "
            f"to keep it categorical and silence this warning, list it in data.categorical."
        )
        log.warning(notes[-1])
    return ColumnRoles(target, feats, cats, list(sensitive or []), institution, list(identifiers or []), list(drop or []),
                       warnings=notes)


def mixed_columns(df: pd.DataFrame, columns: list[str], max_examples: int = 3) -> dict[str, tuple[float, list[str]]]:
    """Text columns whose non-missing values are mostly (>= 90 %) numbers.

    Returns
    -------
    dict
        Column name -> (share of numeric values, up to ``max_examples`` distinct non-numeric values).
    """
    found = {}
    for col in columns:
        values = df[col].dropna()
        if values.empty or pd.api.types.is_numeric_dtype(values):
            continue
        parsed = pd.to_numeric(values.astype(str).str.strip(), errors="coerce")
        share = float(parsed.notna().mean())
        if MIXED_NUMERIC_SHARE <= share < 1.0:
            texts = pd.unique(values[parsed.isna()].astype(str))[:max_examples].tolist()
            found[col] = (share, texts)
    return found


_TRUE, _FALSE = {"true", "yes", "y", "on", "1"}, {"false", "no", "n", "off", "0"}


def _label(v) -> str:
    return repr(v.item() if hasattr(v, "item") else v)


def binary_target(df: pd.DataFrame, target: str, source: str, positive=None) -> np.ndarray:
    """The target as 0/1 integers (1 = the event).

    Parameters
    ----------
    positive : str, int, float or bool, optional
        The label that is the event (``data.positive``), e.g. ``"bad"``; the other label becomes 0.
        Without it the column must hold 0/1 or true/false.

    Raises
    ------
    DataError
        Missing values; not exactly two distinct values; ``positive`` not one of them; or two labels
        other than 0/1 without ``positive`` (the labels and the key to set are named).
    """
    col = df[target]
    if col.isna().any():
        n = int(col.isna().sum())
        raise DataError(
            f"{source}: target column {target!r} has {n} missing value(s). Remove those rows or fill them.",
            f"{source}：目标列 {target!r} 有 {n} 个缺失值。请删除或补全这些行。",
        )
    values = sorted(pd.unique(col).tolist(), key=str)
    shown = ", ".join(_label(v) for v in values[:6]) + (" …" if len(values) > 6 else "")
    if len(values) != 2:
        raise DataError(
            f"{source}: target column {target!r} must be binary (0/1) with both classes present; "
            f"found {len(values)} distinct value(s): {shown}. Set data.target to a column with exactly two values "
            "(any two labels: set data.positive to the one that is the event, e.g. data.positive: bad).",
            f"{source}：目标列 {target!r} 必须是二元的（0/1）且两类都出现；实际有 {len(values)} 个不同取值：{shown}。"
            "请将 data.target 设为恰有两个取值的列（任意两个标签均可：用 data.positive 指定表示事件的标签，例如 data.positive: bad）。",
        )
    if positive is not None:
        spellings = {str(positive).strip().lower()}
        if isinstance(positive, bool):  # YAML 1.1 reads an unquoted yes/no/on/off as a boolean
            spellings |= _TRUE if positive else _FALSE
        match = [v for v in values if v == positive or str(v).strip().lower() in spellings]
        if len(match) != 1:
            raise DataError(
                f"{source}: data.positive is {positive!r}, which is not a value of target column {target!r}; "
                f"its values are {shown}. Set data.positive to the one that is the event (e.g. default).",
                f"{source}：data.positive 为 {positive!r}，不是目标列 {target!r} 的取值；其取值为 {shown}。"
                "请将 data.positive 设为表示事件（例如违约）的那个取值。",
            )
        return (col == match[0]).astype(int).to_numpy()
    if set(values) <= {0, 1}:
        return col.astype(int).to_numpy()
    if set(map(str, values)) <= {"0", "1", "true", "false", "True", "False"}:
        return col.astype(str).str.lower().isin(["1", "true"]).astype(int).to_numpy()
    # sorted by text, so the example is the first label shown
    raise DataError(
        f"{source}: target column {target!r} has two labels, {shown}, and bentu cannot tell which is the event. "
        f"Set data.positive to the label of the event (e.g. data.positive: {values[0]}).",
        f"{source}：目标列 {target!r} 有两个标签 {shown}，无法判断哪一个表示事件。"
        f"请用 data.positive 指定表示事件的标签（例如 data.positive: {values[0]}）。",
    )
