"""Loader for the UCI "default of credit card clients" table (Taiwan, 2005).

Reads the two published layouts and returns one normalised frame:

* ``UCI_Credit_Card.csv`` (also ``.csv.gz``): one header row, label ``default.payment.next.month``;
  some amounts are written in scientific notation (``5e+05``);
* the original UCI workbook ``default of credit card clients.xls``: a first header row
  ``X1 … X23, Y`` and a second header row with the names, label ``default payment next month``.

The result has the CSV layout's column names (``ID``, ``LIMIT_BAL``, ``SEX``, ``EDUCATION``,
``MARRIAGE``, ``AGE``, ``PAY_0``, ``PAY_2`` … ``PAY_6``, ``BILL_AMT1`` … ``BILL_AMT6``,
``PAY_AMT1`` … ``PAY_AMT6``) with the label renamed to ``default`` (1 = default next month), all
values as ``int64``. Optionally FATE's horizontal 3-party split is joined on ``ID`` as
``fate_homo_party``.
"""

from __future__ import annotations

import gzip
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from bentu.errors import DataError, MissingDependencyError

__all__ = ["load_uci_credit", "UCI_ROLES", "UCI_COLUMNS", "UCI_FILENAMES"]

#: Column names of the normalised frame, in order (the label last).
UCI_COLUMNS: list[str] = (
    ["ID", "LIMIT_BAL", "SEX", "EDUCATION", "MARRIAGE", "AGE", "PAY_0"]
    + [f"PAY_{i}" for i in range(2, 7)]
    + [f"BILL_AMT{i}" for i in range(1, 7)]
    + [f"PAY_AMT{i}" for i in range(1, 7)]
    + ["default"]
)

#: File names looked for, in order, when ``path`` is a directory.
UCI_FILENAMES = (
    "UCI_Credit_Card.csv.gz", "UCI_Credit_Card.csv", "default of credit card clients.xls",
)

UCI_ROLES: dict = {
    "target": "default",
    "institution": "fate_homo_party",
    "identifiers": ["ID"],
    "sensitive": ["SEX", "AGE", "EDUCATION", "MARRIAGE"],
    "categorical": ["SEX", "EDUCATION", "MARRIAGE"],
}

_LABEL_ALIASES = ("default.payment.next.month", "default payment next month", "default")
_LABEL_SHOWN = "default.payment.next.month"
_SPLIT_COLUMNS = ("ID", "fate_homo_party")
_XLRD_PIN = "xlrd==2.0.2"

MSG_NOT_FOUND = {
    "en": "UCI credit data not found: {path} does not exist. Download 'default of credit card "
          "clients' from the UCI Machine Learning Repository (the .xls) or use the copy in "
          "../shared/data/uci_default_credit (UCI_Credit_Card.csv.gz), and pass its path.",
    "zh": "未找到 UCI 信用数据：{path} 不存在。请从 UCI 机器学习库下载 'default of credit card "
          "clients'（.xls），或使用 ../shared/data/uci_default_credit 中的副本"
          "（UCI_Credit_Card.csv.gz），并传入其路径。",
}
MSG_NO_FILE_IN_DIR = {
    "en": "UCI credit data not found in directory {path}: expected one of {names}. Download it "
          "from the UCI Machine Learning Repository or use ../shared/data/uci_default_credit.",
    "zh": "目录 {path} 中未找到 UCI 信用数据：应包含 {names} 之一。请从 UCI 机器学习库下载，"
          "或使用 ../shared/data/uci_default_credit。",
}
MSG_FORMAT = {
    "en": "{path}: unsupported file type; expected .csv, .csv.gz or .xls (the UCI layouts).",
    "zh": "{path}：不支持的文件类型；应为 .csv、.csv.gz 或 .xls（UCI 的发布格式）。",
}
MSG_UNREADABLE = {
    "en": "{path} could not be read as {kind}: {error}. Check that the file is the UCI table "
          "and is not truncated.",
    "zh": "无法将 {path} 读取为 {kind}：{error}。请确认文件是 UCI 数据表且未被截断。",
}
MSG_MISSING_COLUMNS = {
    "en": "{path} lacks required columns {columns}{more}. Expected the UCI 'default of credit "
          "card clients' layout (ID, LIMIT_BAL, SEX, … PAY_AMT6, default.payment.next.month).",
    "zh": "{path} 缺少必需的列 {columns}{more}。应为 UCI 'default of credit card clients' 格式"
          "（ID、LIMIT_BAL、SEX …… PAY_AMT6、default.payment.next.month）。",
}
MSG_NOT_NUMERIC = {
    "en": "{path}: column {column!r} must hold integers; got {value} (row with ID {row}). "
          "Fix or remove that value.",
    "zh": "{path}：列 {column!r} 必须是整数，实际为 {value}（ID 为 {row} 的行）。请修正或删除该值。",
}
MSG_LABEL = {
    "en": "{path}: label column {column!r} must be 0 or 1; got values {values} ({count} rows). "
          "Recode the label to 0 = no default, 1 = default.",
    "zh": "{path}：标签列 {column!r} 只能取 0 或 1，实际取值 {values}（{count} 行）。"
          "请将标签重新编码为 0 = 未违约，1 = 违约。",
}
MSG_DUPLICATE_ID = {
    "en": "{path}: column 'ID' must be unique; {count} IDs repeat (e.g. {examples}).",
    "zh": "{path}：列 'ID' 必须唯一；有 {count} 个 ID 重复（例如 {examples}）。",
}
MSG_SPLIT_NOT_FOUND = {
    "en": "Split file not found: {path} does not exist. Use "
          "../shared/data/uci_default_credit/fate_homo_split.csv.gz or pass split_path=None.",
    "zh": "未找到划分文件：{path} 不存在。请使用 "
          "../shared/data/uci_default_credit/fate_homo_split.csv.gz，或设 split_path=None。",
}
MSG_SPLIT_COLUMNS = {
    "en": "{path} lacks required columns {columns}. Expected a split file with columns "
          "ID, fate_homo_party.",
    "zh": "{path} 缺少必需的列 {columns}。划分文件应包含列 ID、fate_homo_party。",
}
MSG_SPLIT_IDS = {
    "en": "{path}: IDs do not match the data file {data}: {n_missing} data IDs have no party "
          "(e.g. {missing}) and {n_extra} split IDs are not in the data (e.g. {extra}). Use the "
          "split file made for this table.",
    "zh": "{path}：ID 与数据文件 {data} 不一致：{n_missing} 个数据 ID 没有参与方（例如 {missing}），"
          "{n_extra} 个划分 ID 不在数据中（例如 {extra}）。请使用与该数据表对应的划分文件。",
}
MSG_XLRD = {
    "en": "Reading {path} (.xls) needs the optional package xlrd; install it with "
          "`pip install {pin}`, or use the CSV layout (UCI_Credit_Card.csv.gz).",
    "zh": "读取 {path}（.xls）需要可选依赖 xlrd；请执行 `pip install {pin}` 安装，"
          "或改用 CSV 格式（UCI_Credit_Card.csv.gz）。",
}


def load_uci_credit(path: str | Path, *, split_path: str | Path | None = None) -> pd.DataFrame:
    """Load the UCI "default of credit card clients" table in one of its published layouts.

    Parameters
    ----------
    path : str or Path
        ``UCI_Credit_Card.csv``, ``UCI_Credit_Card.csv.gz`` or the original
        ``default of credit card clients.xls``; or a directory holding one of them
        (looked for in the order of :data:`UCI_FILENAMES`).
    split_path : str or Path, optional
        ``fate_homo_split.csv`` or ``.csv.gz`` with columns ``ID, fate_homo_party``; if given, its
        party is joined on ``ID`` as column ``fate_homo_party``.

    Returns
    -------
    pandas.DataFrame
        The columns :data:`UCI_COLUMNS` as ``int64`` in file order, the label renamed from
        ``default.payment.next.month`` / ``default payment next month`` to ``default``; plus
        ``fate_homo_party`` when ``split_path`` is given. Roles are in :data:`UCI_ROLES`.

    Raises
    ------
    DataError
        If a file is missing or unreadable, a required column is missing, a value is not an
        integer, the label is not 0/1, IDs repeat, or the split's IDs do not match.
    MissingDependencyError
        If an ``.xls`` file is given and ``xlrd`` is not installed.
    """
    file = _resolve(Path(path).expanduser())
    raw = _read_xls(file) if file.name.lower().endswith(".xls") else _read_csv(file)
    df = _normalise(raw, file)
    if split_path is not None:
        df = _join_split(df, Path(split_path).expanduser(), file)
    return df


def _error(msg: dict[str, str], **kw) -> DataError:
    """A :class:`DataError` from a bilingual message template."""
    return DataError(msg["en"].format(**kw), msg["zh"].format(**kw))


def _resolve(path: Path) -> Path:
    """The data file: ``path`` itself, or the first UCI file name found in directory ``path``."""
    if path.is_dir():
        for name in UCI_FILENAMES:
            if (path / name).is_file():
                return path / name
        raise _error(MSG_NO_FILE_IN_DIR, path=path, names=", ".join(UCI_FILENAMES))
    if not path.is_file():
        raise _error(MSG_NOT_FOUND, path=path)
    if not path.name.lower().endswith((".csv", ".csv.gz", ".xls")):
        raise _error(MSG_FORMAT, path=path)
    return path


def _read_csv(file: Path) -> pd.DataFrame:
    """Read a CSV or gzip-compressed CSV as strings-or-numbers, header in the first row."""
    try:
        return pd.read_csv(file, skipinitialspace=True, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError,
            gzip.BadGzipFile, EOFError, zipfile.BadZipFile, zlib.error, OSError) as err:
        raise _error(MSG_UNREADABLE, path=file, kind="CSV", error=_one_line(err)) from err


def _read_xls(file: Path) -> pd.DataFrame:
    """Read the original UCI workbook; the names are in the header row that holds ``ID``."""
    try:
        import xlrd
    except ImportError as err:
        raise MissingDependencyError(
            MSG_XLRD["en"].format(path=file, pin=_XLRD_PIN),
            MSG_XLRD["zh"].format(path=file, pin=_XLRD_PIN),
        ) from err
    try:
        grid = pd.read_excel(file, sheet_name=0, header=None, engine="xlrd")
    except (xlrd.XLRDError, ValueError, EOFError, OSError, AssertionError, IndexError) as err:
        raise _error(MSG_UNREADABLE, path=file, kind="an Excel 97-2003 workbook (.xls)",
                     error=_one_line(err)) from err
    header_row = next((i for i in range(min(2, len(grid)))
                       if "ID" in {str(v).strip() for v in grid.iloc[i]}), 0)
    names = [str(v).strip() for v in grid.iloc[header_row]]
    body = grid.iloc[header_row + 1:].reset_index(drop=True)
    body.columns = names
    return body


def _normalise(raw: pd.DataFrame, file: Path) -> pd.DataFrame:
    """Rename the label to ``default``, check columns, integers, label and IDs."""
    raw = raw.rename(columns=lambda c: str(c).strip())
    label = next((c for c in _LABEL_ALIASES if c in raw.columns), None)
    missing = [c for c in UCI_COLUMNS[:-1] if c not in raw.columns]
    if label is None:
        missing.append(_LABEL_SHOWN)
    if missing:
        missing.sort()
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise _error(MSG_MISSING_COLUMNS, path=file, columns=missing[:5], more=more)
    df = raw.rename(columns={label: "default"})[UCI_COLUMNS]
    for col in UCI_COLUMNS:
        df[col] = _as_int(df[col], col, file, raw["ID"], label if col == "default" else col)
    bad = ~df["default"].isin([0, 1])
    if bad.any():
        values = sorted(df.loc[bad, "default"].unique().tolist())[:5]
        raise _error(MSG_LABEL, path=file, column=label, values=values, count=int(bad.sum()))
    dup = df["ID"][df["ID"].duplicated()].unique()
    if dup.size:
        raise _error(MSG_DUPLICATE_ID, path=file, count=dup.size, examples=sorted(dup.tolist())[:5])
    return df.reset_index(drop=True)


def _as_int(col: pd.Series, name: str, file: Path, ids: pd.Series, shown: str) -> pd.Series:
    """``col`` as int64, accepting ``5e+05``-style integral numbers; else a DataError."""
    num = pd.to_numeric(col, errors="coerce")
    bad = num.isna() | ~np.isfinite(num) | (num != np.round(num))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        value = col.iloc[i]
        if isinstance(value, str):
            shown_value = repr(value) if value else "an empty cell"
        else:
            shown_value = "an empty cell" if pd.isna(value) else str(np.asarray(value).item())
        raise _error(MSG_NOT_NUMERIC, path=file, column=shown, value=shown_value, row=ids.iloc[i])
    return num.astype(np.int64)


def _join_split(df: pd.DataFrame, split_file: Path, data_file: Path) -> pd.DataFrame:
    """Add ``fate_homo_party`` from ``split_file``, matched on ``ID``."""
    if not split_file.is_file():
        raise _error(MSG_SPLIT_NOT_FOUND, path=split_file)
    split = _read_csv(split_file).rename(columns=lambda c: str(c).strip())
    missing = sorted(c for c in _SPLIT_COLUMNS if c not in split.columns)
    if missing:
        raise _error(MSG_SPLIT_COLUMNS, path=split_file, columns=missing)
    split_ids = _as_int(split["ID"], "ID", split_file, split["ID"], "ID")
    dup = split_ids[split_ids.duplicated()].unique()
    if dup.size:
        raise _error(MSG_DUPLICATE_ID, path=split_file, count=dup.size,
                     examples=sorted(dup.tolist())[:5])
    ids, sids = set(df["ID"].tolist()), set(split_ids.tolist())
    if ids != sids:
        lacking, extra = sorted(ids - sids), sorted(sids - ids)
        raise _error(MSG_SPLIT_IDS, path=split_file, data=data_file, n_missing=len(lacking),
                     missing=lacking[:5], n_extra=len(extra), extra=extra[:5])
    party = pd.Series(split["fate_homo_party"].astype(str).to_numpy(), index=split_ids.to_numpy())
    return df.assign(fate_homo_party=df["ID"].map(party).to_numpy())


def _one_line(err: BaseException) -> str:
    """The first line of an exception's message, or its type name."""
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__
