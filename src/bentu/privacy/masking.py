"""Streaming de-identification of files (text, CSV/TSV, JSON Lines, Parquet) and scanning.

Everything streams in constant memory: text and JSON Lines line by line, CSV row by row (the
first rows are buffered to classify the columns), Parquet batch by batch.  Output goes to a
temporary file renamed into place at the end.
"""

from __future__ import annotations

import csv
import itertools
import json
from pathlib import Path

import pandas as pd

from bentu.errors import DataError
from bentu.atomic import atomic_output
from bentu.privacy._files import check_input, check_output, not_utf8
from bentu.privacy.detectors import PiiEngine, Span
from bentu.privacy.operators import PseudonymKey, apply_operator
from bentu.privacy.policy import Policy
from bentu.privacy.tables import ColumnInfo, classify_table

__all__ = ["mask_file", "scan_file", "mask_text"]

_SAMPLE_ROWS = 1000
_BATCH = 2000


def mask_text(text: str, spans: list[Span], policy: Policy, key: PseudonymKey | None,
              counts: dict | None = None) -> str:
    """Replace each span of ``text`` by its policy operator's output."""
    if not spans:
        return text
    out, last = [], 0
    for s in spans:
        new = apply_operator(text[s.start:s.end], policy.for_type(s.type), s.type, key)
        out.append(text[last:s.start])
        out.append("" if new is None else str(new))
        last = s.end
        if counts is not None:
            counts[s.type] = counts.get(s.type, 0) + 1
    out.append(text[last:])
    return "".join(out)


def _not_decimals(text: str, spans: list[Span]) -> list[Span]:
    """``spans`` less those that are the digits after the point of a decimal number
    (``0.420571580830845`` holds no 15-digit identity number): what every column is
    searched with must not turn a table's measurements into pseudonyms."""
    return [s for s in spans
            if not (s.start >= 2 and text[s.start - 1] == "." and text[s.start - 2].isdigit()
                    and text[s.start:s.end].isdigit())]


def _kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        return "csv"
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    return "text"


def _lines(path: Path, encoding: str):
    """Yield lines, turning a late decoding error into a clear one."""
    with path.open("r", encoding=encoding, newline="") as fh:
        try:
            yield from fh
        except UnicodeDecodeError as err:
            raise not_utf8(path, err.object, err.start) from None


def _column_plan(infos: dict[str, ColumnInfo], policy: Policy) -> dict:
    """Per column: ("cell", op, type) for direct identifiers and policy columns, else ("span",):
    every other cell of every row is searched for PII (the sample only decides which columns
    are replaced whole, never which ones are left unread)."""
    plan = {}
    for col, info in infos.items():
        if col in policy.columns:
            plan[col] = ("cell", policy.columns[col], info.main_type)
        elif info.cls == "direct_identifier":
            plan[col] = ("cell", policy.for_type(info.main_type or "PERSON"), info.main_type)
        else:
            plan[col] = ("span",)
    return plan


EXTRA_FIELDS = "(fields beyond the header)"
HEADER = "(header)"


def _mask_cells(cells: list[str], engine: PiiEngine, policy: Policy, key, counts: dict) -> list[str]:
    """``cells`` with the PII spans in each replaced."""
    return [mask_text(c, _not_decimals(c, spans), policy, key, counts) if spans else c
            for c, spans in zip(cells, engine.detect_batch(cells))]


def _apply_plan(rows: list[list[str]], header: list[str], plan: dict, engine: PiiEngine,
                policy: Policy, key, counts: dict) -> list[list]:
    for j, col in enumerate(header):
        step = plan.get(col) or ("span",)
        col_counts = counts.setdefault(col, {})
        if step[0] == "cell":
            _, op, pii_type = step
            for row in rows:
                if j < len(row) and row[j] != "":
                    new = apply_operator(row[j], op, pii_type, key)
                    row[j] = "" if new is None else new
                    col_counts[pii_type or op["op"]] = col_counts.get(pii_type or op["op"], 0) + 1
        else:
            cells = [row[j] if j < len(row) else "" for row in rows]
            for row, new in zip(rows, _mask_cells(cells, engine, policy, key, col_counts)):
                if j < len(row):
                    row[j] = new
    # Fields beyond the header (a row longer than the header): searched like free text.
    where = [(i, j) for i, row in enumerate(rows) for j in range(len(header), len(row))]
    if where:
        extra_counts = counts.setdefault(EXTRA_FIELDS, {})
        new = _mask_cells([rows[i][j] for i, j in where], engine, policy, key, extra_counts)
        for (i, j), cell in zip(where, new):
            rows[i][j] = cell
    return rows


def _csv_rows(reader, path: Path):
    """Yield the rows of a ``csv.reader``; a malformed row is a DataError naming its line."""
    try:
        yield from reader
    except csv.Error as err:
        raise DataError(
            f"Line {reader.line_num} of '{path}' is not valid CSV: {err}. Fix that row (a field "
            "over 128 KiB, or an unbalanced quote).",
            f"'{path}' 第 {reader.line_num} 行不是有效的 CSV：{err}。请修正该行（字段超过 128 KiB，"
            "或引号不成对）。") from None


def _mask_csv(inp, out, policy, key, engine, encoding, counts) -> int:
    delimiter = "\t" if inp.suffix.lower() == ".tsv" else ","
    reader = _csv_rows(csv.reader(_lines(inp, encoding), delimiter=delimiter), inp)
    header = next(reader, None)
    if header is None:
        raise DataError(f"CSV file '{inp}' is empty.", f"CSV 文件 '{inp}' 为空。")
    policy.check_columns(header)
    head = list(itertools.islice(reader, _SAMPLE_ROWS))
    sample = pd.DataFrame([(r + [""] * (len(header) - len(r)))[:len(header)] for r in head],
                          columns=header, dtype="string").replace("", pd.NA)
    plan = _column_plan(classify_table(sample, engine=engine), policy)
    n = 0
    with atomic_output(out, newline="") as fh:
        writer = csv.writer(fh, delimiter=delimiter, lineterminator="\n")
        writer.writerow(_mask_cells(header, engine, policy, key, counts.setdefault(HEADER, {})))
        for batch in itertools.chain([head], _chunks(reader, _BATCH)):
            writer.writerows(_apply_plan(batch, header, plan, engine, policy, key, counts))
            n += len(batch)
    return n


def _chunks(iterable, size):
    it = iter(iterable)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


def _mask_lines(inp, out, policy, key, engine, encoding, counts, jsonl: bool) -> int:
    n = 0
    col_counts = counts.setdefault("text", {})
    with atomic_output(out, newline="") as fh:
        for batch in _chunks(_lines(inp, encoding), _BATCH):
            if jsonl:
                objs = []
                for i, line in enumerate(batch):
                    try:
                        objs.append(json.loads(line) if line.strip() else None)
                    except ValueError:
                        raise DataError(f"Line {n + i + 1} of '{inp}' is not valid JSON.",
                                        f"'{inp}' 第 {n + i + 1} 行不是有效的 JSON。") from None
                objs = [None if o is None else _mask_json(o, engine, policy, key, col_counts)
                        for o in objs]
                fh.writelines(("" if o is None else json.dumps(o, ensure_ascii=False)) + "\n"
                              for o in objs)
            else:
                texts = [line.rstrip("\r\n") for line in batch]
                ends = [line[len(t):] for line, t in zip(batch, texts)]
                for t, e, spans in zip(texts, ends, engine.detect_batch(texts)):
                    fh.write(mask_text(t, _not_decimals(t, spans), policy, key, col_counts) + e)
            n += len(batch)
    return n


def _mask_json(value, engine: PiiEngine, policy: Policy, key, counts: dict):
    """``value`` (any JSON value) with PII replaced in every string, every object key and
    every number that is an identifier (an ID or mobile written as a JSON number becomes the
    replacement string)."""
    if isinstance(value, str):
        spans = _not_decimals(value, engine.detect(value))
        return mask_text(value, spans, policy, key, counts) if spans else value
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        text = str(value)
        spans = _not_decimals(text, engine.detect(text))
        return mask_text(text, spans, policy, key, counts) if spans else value
    if isinstance(value, list):
        return [_mask_json(v, engine, policy, key, counts) for v in value]
    out: dict = {}
    for k, v in value.items():
        new_key = _mask_json(k, engine, policy, key, counts)
        while new_key in out:  # two keys masked to the same text: keep both values
            new_key = f"{new_key}#"
        out[new_key] = _mask_json(v, engine, policy, key, counts)
    return out


def _is_text(col: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(col.dtype) or pd.api.types.is_object_dtype(col.dtype)


def _bad_parquet(path: Path, err: Exception) -> DataError:
    return DataError(f"File '{path}' is not a readable Parquet file: {err}",
                     f"文件 '{path}' 不是可读取的 Parquet 文件：{err}")


def _parquet(path: Path):
    """``pyarrow.parquet.ParquetFile(path)``; a damaged file is a DataError naming it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path)
    except pa.ArrowException as err:
        raise _bad_parquet(path, err) from None


def _parquet_batches(pf, path: Path, size: int):
    """The record batches of ``pf``; a damaged page is a DataError naming the file."""
    import pyarrow as pa

    try:
        yield from pf.iter_batches(batch_size=size)
    except pa.ArrowException as err:
        raise _bad_parquet(path, err) from None


def _mask_parquet(inp, out, policy, key, engine, counts) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pf = _parquet(inp)
    policy.check_columns(pf.schema_arrow.names)
    n, plan, writer = 0, None, None
    with atomic_output(out, mode="wb", encoding=None) as fh:
        try:
            for batch in _parquet_batches(pf, inp, _BATCH * 5):
                df = batch.to_pandas()
                if plan is None:
                    plan = _column_plan(classify_table(df, engine=engine), policy)
                header = [str(c) for c in df.columns]
                for col in header:
                    if plan.get(col, ("span",))[0] == "cell" or _is_text(df[col]):
                        rows = [[v] for v in df[col].astype("string").fillna("").tolist()]
                        _apply_plan(rows, [col], {col: plan.get(col, ("span",))}, engine, policy, key, counts)
                        df[col] = [r[0] for r in rows]
                table = pa.Table.from_pandas(df, preserve_index=False)
                if writer is None:
                    writer = pq.ParquetWriter(fh, table.schema)
                writer.write_table(table)
                n += len(df)
        finally:
            if writer is not None:
                writer.close()
    return n


def mask_file(inp: str | Path, out: str | Path, *, policy: Policy, key: PseudonymKey | None,
              encoding: str = "utf-8", overwrite: bool = False) -> dict:
    """De-identify ``inp`` into ``out`` (atomically); returns counts per column and type.

    Every field of every row is searched: columns classified as direct identifiers (from the
    first rows) are replaced whole, every other cell, field beyond a CSV header, JSON string,
    key and number is searched for PII spans.  ``out`` must not exist unless ``overwrite``.

    Raises
    ------
    DataError
        Missing, binary or non-UTF-8 input; ``out`` is ``inp`` or exists; the policy names a
        column the table lacks.
    """
    inp, out = Path(inp), Path(out)
    check_input(inp, encoding)
    check_output(inp, out, overwrite)
    engine = PiiEngine()
    counts: dict[str, dict] = {}
    kind = _kind(inp)
    if kind == "csv":
        rows = _mask_csv(inp, out, policy, key, engine, encoding, counts)
    elif kind == "parquet":
        rows = _mask_parquet(inp, out, policy, key, engine, counts)
    else:
        if policy.columns:
            raise DataError(
                f"Policy {policy.source} names columns, but '{inp}' is not a table (CSV, TSV, "
                "Parquet). Remove the columns section or give a table.",
                f"策略 {policy.source} 指定了列，但 '{inp}' 不是表格（CSV、TSV、Parquet）。"
                "请删除 columns 部分或提供表格。")
        rows = _mask_lines(inp, out, policy, key, engine, encoding, counts, kind == "jsonl")
    return {"input_kind": kind, "records": rows,
            "replaced": {c: v for c, v in counts.items() if v},
            "key_source": key.source if key else None}


def _read_csv_head(path: Path, max_rows: int, encoding: str) -> pd.DataFrame:
    """The first ``max_rows`` rows of a CSV/TSV as strings; an empty or malformed file is a
    DataError naming it."""
    try:
        df = pd.read_csv(path, sep="\t" if path.suffix.lower() == ".tsv" else ",",
                         nrows=max_rows, dtype="string", encoding=encoding)
    except pd.errors.EmptyDataError:
        raise DataError(f"CSV file '{path}' is empty.", f"CSV 文件 '{path}' 为空。") from None
    except pd.errors.ParserError as err:
        raise DataError(f"CSV file '{path}' is malformed: {err}. Fix that row (quote fields that "
                        "contain commas, balance the quotes).",
                        f"CSV 文件 '{path}' 格式错误：{err}。请修正该行（含逗号的字段加引号，引号需成对）。") from None
    except UnicodeDecodeError as err:
        raise not_utf8(path, err.object, err.start) from None
    if df.shape[1] == 0:
        raise DataError(f"CSV file '{path}' is empty.", f"CSV 文件 '{path}' 为空。")
    return df


def scan_file(path: str | Path, *, encoding: str = "utf-8", max_rows: int = 5000) -> dict:
    """What PII is where: per column for tables, per type (with line numbers) for text."""
    path = Path(path)
    check_input(path, encoding)
    kind = _kind(path)
    engine = PiiEngine()
    if kind in ("csv", "parquet"):
        if kind == "csv":
            df = _read_csv_head(path, max_rows, encoding)
        else:
            batch = next(_parquet_batches(_parquet(path), path, max_rows), None)
            df = batch.to_pandas() if batch is not None else pd.DataFrame()
        infos = classify_table(df, engine=engine)
        return {"path": str(path), "kind": kind, "rows_scanned": int(len(df)),
                "columns": {c: i.to_dict() for c, i in infos.items()}}
    types: dict[str, dict] = {}
    lines = 0
    for n, line in enumerate(_lines(path, encoding), 1):
        if n > max_rows * 20:
            break
        lines = n
        text = line
        if kind == "jsonl":
            try:
                obj = json.loads(line)
            except ValueError:
                raise DataError(f"Line {n} of '{path}' is not valid JSON.",
                                f"'{path}' 第 {n} 行不是有效的 JSON。") from None
            text = " ".join(str(v) for v in obj.values()) if isinstance(obj, dict) else str(obj)
        for s in engine.detect(text):
            entry = types.setdefault(s.type, {"count": 0, "lines": []})
            entry["count"] += 1
            if len(entry["lines"]) < 10 and (not entry["lines"] or entry["lines"][-1] != n):
                entry["lines"].append(n)
    return {"path": str(path), "kind": kind, "lines_scanned": lines, "types": types}

