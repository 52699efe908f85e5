"""Reading tables from files, with errors that name the file, the line and the fix."""

from __future__ import annotations

import csv
import gzip
import io
import lzma
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from bentu.errors import DataError

__all__ = ["read_table", "sha256_file", "FORMATS"]

FORMATS = ("csv", "parquet", "jsonl")

# A compressed file that is cut short or corrupt: gzip/zlib, xz/lzma, and bz2 (which raises an
# OSError without a file name).  Caught only around reading the user's file.
_DECOMPRESSION_ERRORS = (zlib.error, gzip.BadGzipFile, EOFError, lzma.LZMAError)
# The largest magnitude a number may have: models compute in float32.
_MAX_ABS = float(np.finfo(np.float32).max)


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes, streamed."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _infer_format(path: Path) -> str:
    name = path.name.lower().removesuffix(".gz")
    for fmt, suffixes in (("csv", (".csv", ".txt", ".tsv")), ("parquet", (".parquet", ".pq")), ("jsonl", (".jsonl", ".ndjson"))):
        if name.endswith(suffixes):
            return fmt
    raise DataError(
        f"Cannot tell the format of {path}: expected a .csv, .csv.gz, .parquet or .jsonl file. "
        "Set data.format in the recipe (csv, parquet or jsonl).",
        f"无法判断 {path} 的格式：应为 .csv、.csv.gz、.parquet 或 .jsonl 文件。请在配方中设置 data.format（csv、parquet 或 jsonl）。",
    )


def _check_text_encoding(path: Path) -> None:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as f:
        head = f.read(1 << 16)
    if b"\x00" in head:
        raise DataError(
            f"{path} looks like a binary file, not a text table (it contains NUL bytes).",
            f"{path} 看起来是二进制文件，而不是文本表格（含有 NUL 字节）。",
        )
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as err:
        if err.start >= len(head) - 4:  # a multi-byte character cut by the 64 KiB window
            return
        try:
            head.decode("gb18030")
            enc = "GBK/GB18030"
        except UnicodeDecodeError:
            enc = "an unknown encoding"
        raise DataError(
            f"{path} is not UTF-8 (byte {err.start} looks like {enc}). Convert it first, e.g. "
            f"`iconv -f GB18030 -t UTF-8 {path.name} > {path.stem}.utf8.csv`.",
            f"{path} 不是 UTF-8 编码（第 {err.start} 字节看起来是 {enc}）。请先转换，例如 "
            f"`iconv -f GB18030 -t UTF-8 {path.name} > {path.stem}.utf8.csv`。",
        ) from err


def read_table(path: str | Path, fmt: str | None = None) -> pd.DataFrame:
    """Read a CSV (optionally gzip), Parquet or JSON Lines table.

    Raises
    ------
    DataError
        The file is missing, empty, binary, not UTF-8, or has a malformed row (the line is named).
    """
    path = Path(path)
    if not path.exists():
        raise DataError(
            f"Data file {path} does not exist. Check the path given with --data or data.path.",
            f"数据文件 {path} 不存在。请检查 --data 或 data.path 给出的路径。",
        )
    if path.is_dir():
        raise DataError(f"{path} is a directory, not a data file.", f"{path} 是目录，而不是数据文件。")
    if path.stat().st_size == 0:
        raise DataError(f"Data file {path} is empty.", f"数据文件 {path} 是空的。")
    fmt = fmt or _infer_format(path)
    if fmt == "parquet":
        _check_parquet_header(path)
        try:
            df = pd.read_parquet(path)
        except Exception as err:  # pyarrow raises several types for a bad file
            raise DataError(f"{path} is not a readable Parquet file: {err}", f"{path} 不是可读取的 Parquet 文件：{err}") from err
    else:
        try:
            _check_text_encoding(path)
            if fmt == "csv":
                _check_header(path)
            df = _read_text(path, fmt)
        except _DECOMPRESSION_ERRORS as err:
            raise _corrupt(path, err) from err
        except OSError as err:
            if err.filename is not None:  # cannot open it: the command line names the path
                raise
            raise _corrupt(path, err) from err
    dup_err = _duplicate_error(path, [str(c) for c in df.columns])
    if dup_err is not None:  # Parquet and JSON Lines keep duplicate names as they are
        raise dup_err
    _check_finite(df, path)
    if df.shape[0] == 0 or df.shape[1] == 0:
        raise DataError(
            f"Data file {path} has no data rows (only a header, or nothing at all).",
            f"数据文件 {path} 没有数据行（只有表头或为空）。",
        )
    return df


def _corrupt(path: Path, err: Exception) -> DataError:
    return DataError(
        f"{path} is a damaged or truncated compressed file ({err}). Download or copy it again, or "
        "give the uncompressed file.",
        f"{path} 是已损坏或不完整的压缩文件（{err}）。请重新下载或复制，或改用未压缩的文件。",
    )


def _check_finite(df: pd.DataFrame, path: Path) -> None:
    """Refuse inf, -inf and numbers beyond the float32 range (1e308 overflows training)."""
    for col in df.columns:
        values = df[col]
        if not pd.api.types.is_float_dtype(values.dtype):
            continue
        arr = values.to_numpy(dtype="float64", na_value=np.nan)
        with np.errstate(invalid="ignore"):
            bad = np.flatnonzero(np.abs(arr) > _MAX_ABS)
        if bad.size == 0:
            continue
        first = int(bad[0])
        value = float(arr[first])
        what_en = "is not a finite number" if np.isinf(value) else f"is beyond ±{_MAX_ABS:.3g}, the largest a model can use"
        what_zh = "不是有限数" if np.isinf(value) else f"超出模型可用的最大范围 ±{_MAX_ABS:.3g}"
        raise DataError(
            f"{path}, column {col!r}, data row {first + 1}: the value {value:g} {what_en} ({bad.size} such "
            "value(s) in this column). Replace them with real values or leave the cells empty (missing).",
            f"{path} 的列 {col!r} 第 {first + 1} 个数据行：值 {value:g} {what_zh}（该列共 {bad.size} 个这样的值）。"
            "请替换为真实数值，或留空（视为缺失）。",
        )


def _not_utf8_later(path: Path, err: UnicodeDecodeError) -> DataError:
    return DataError(
        f"{path} is not UTF-8 (a byte after the first 64 KiB, {err.reason}). Convert it first, e.g. "
        f"`iconv -f GB18030 -t UTF-8 {path.name} > {path.stem}.utf8.csv`.",
        f"{path} 不是 UTF-8 编码（前 64 KiB 之后有无效字节：{err.reason}）。请先转换，例如 "
        f"`iconv -f GB18030 -t UTF-8 {path.name} > {path.stem}.utf8.csv`。",
    )


def _duplicate_error(path: Path, header: list[str]) -> DataError | None:
    seen: dict[str, list[int]] = {}
    for i, name in enumerate(header, start=1):
        seen.setdefault(name.strip(), []).append(i)
    dups = {n: idx for n, idx in seen.items() if len(idx) > 1}
    if not dups:
        return None
    names = sorted(dups)[:5]
    where = "; ".join(f"{n!r} (columns {', '.join(map(str, dups[n]))})" for n in names)
    return DataError(
        f"{path} has duplicate column names in its header: {where}. Rename them so each column has its own "
        "name (bentu does not guess which one is meant).",
        f"{path} 的表头中有重复的列名：{where}。请重命名，使每列名称唯一（bentu 不会猜测指的是哪一列）。",
    )


def _check_header(path: Path) -> None:
    """Duplicate names in the header row itself (pandas would silently rename them ``x.1``)."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    sep = "\t" if path.name.lower().removesuffix(".gz").endswith(".tsv") else ","
    with opener(path, "rt", encoding="utf-8", errors="replace", newline="") as f:
        header = next(csv.reader(f, delimiter=sep), None)
    err = _duplicate_error(path, header or [])
    if err is not None:
        raise err


def _check_parquet_header(path: Path) -> None:
    """Duplicate field names in a Parquet schema (pyarrow refuses to read them with a cryptic error)."""
    import pyarrow.parquet as pq

    try:
        names = pq.read_schema(path).names
    except Exception:  # not a Parquet file: read_table's own error says so
        return
    err = _duplicate_error(path, list(names))
    if err is not None:
        raise err


def _read_text(path: Path, fmt: str) -> pd.DataFrame:
    try:
        if fmt == "jsonl":
            return pd.read_json(path, lines=True)
        sep = "\t" if path.name.lower().removesuffix(".gz").endswith(".tsv") else ","
        return pd.read_csv(path, sep=sep)
    except pd.errors.EmptyDataError as err:
        raise DataError(f"Data file {path} is empty.", f"数据文件 {path} 是空的。") from err
    except UnicodeDecodeError as err:
        raise _not_utf8_later(path, err) from err
    except pd.errors.ParserError as err:
        try:
            line = _bad_line(path)
        except csv.Error as csv_err:  # e.g. a field over the csv module's 128 KiB limit
            raise DataError(f"{path} has a malformed row: {csv_err}. Fix or remove that row.",
                            f"{path} 有格式错误的行：{csv_err}。请修正或删除该行。") from err
        where_en = f" at line {line[0]}: expected {line[1]} fields, found {line[2]}" if line else f": {err}"
        where_zh = f"：第 {line[0]} 行应有 {line[1]} 个字段，实际有 {line[2]} 个" if line else f"：{err}"
        raise DataError(
            f"{path} has a malformed row{where_en}. Fix or remove that row (quote fields that contain commas).",
            f"{path} 有格式错误的行{where_zh}。请修正或删除该行（含逗号的字段需加引号）。",
        ) from err
    except ValueError as err:
        raise DataError(f"{path} could not be parsed as {fmt}: {err}", f"{path} 无法按 {fmt} 解析：{err}") from err


def _bad_line(path: Path) -> tuple[int, int, int] | None:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:
            return None
        for row in reader:
            if len(row) != len(header) and row:
                return reader.line_num, len(header), len(row)
    return None
