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
from bentu.privacy._files import atomic_output, check_input, check_output, not_utf8
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


def _column_plan(infos: dict[str, ColumnInfo], policy: Policy, df: pd.DataFrame) -> dict:
    """Per column: ("cell", op, type) for direct identifiers and policy columns, ("span",)
    for text columns where PII was seen, or None."""
    plan = {}
    for col, info in infos.items():
        if col in policy.columns:
            plan[col] = ("cell", policy.columns[col], info.main_type)
        elif info.cls == "direct_identifier":
            plan[col] = ("cell", policy.for_type(info.main_type or "PERSON"), info.main_type)
        elif info.pii or (df[col].dropna().astype(str).str.len().mean() or 0) > 20:
            plan[col] = ("span",)
        else:
            plan[col] = None
    return plan


def _apply_plan(rows: list[list[str]], header: list[str], plan: dict, engine: PiiEngine,
                policy: Policy, key, counts: dict) -> list[list]:
    for j, col in enumerate(header):
        step = plan.get(col)
        if step is None:
            continue
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
            for row, cell, spans in zip(rows, cells, engine.detect_batch(cells)):
                if spans:
                    row[j] = mask_text(cell, spans, policy, key, col_counts)
    return rows


def _mask_csv(inp, out, policy, key, engine, encoding, counts) -> int:
    delimiter = "\t" if inp.suffix.lower() == ".tsv" else ","
    reader = csv.reader(_lines(inp, encoding), delimiter=delimiter)
    header = next(reader, None)
    if header is None:
        raise DataError(f"CSV file '{inp}' is empty.", f"CSV 文件 '{inp}' 为空。")
    policy.check_columns(header)
    head = list(itertools.islice(reader, _SAMPLE_ROWS))
    sample = pd.DataFrame([r + [""] * (len(header) - len(r)) for r in head],
                          columns=header, dtype="string").replace("", pd.NA)
    plan = _column_plan(classify_table(sample, engine=engine), policy, sample)
    n = 0
    with atomic_output(out, newline="") as fh:
        writer = csv.writer(fh, delimiter=delimiter, lineterminator="\n")
        writer.writerow(header)
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
                for obj in objs:
                    if isinstance(obj, dict):
                        for k, v in obj.items():
                            if isinstance(v, str):
                                obj[k] = mask_text(v, engine.detect(v), policy, key, col_counts)
                fh.writelines(("" if o is None else json.dumps(o, ensure_ascii=False)) + "\n"
                              for o in objs)
            else:
                texts = [line.rstrip("\r\n") for line in batch]
                ends = [line[len(t):] for line, t in zip(batch, texts)]
                for t, e, spans in zip(texts, ends, engine.detect_batch(texts)):
                    fh.write(mask_text(t, spans, policy, key, col_counts) + e)
            n += len(batch)
    return n


def _mask_parquet(inp, out, policy, key, engine, counts) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(inp)
    policy.check_columns(pf.schema_arrow.names)
    n, plan, writer = 0, None, None
    with atomic_output(out, mode="wb", encoding=None) as fh:
        try:
            for batch in pf.iter_batches(batch_size=_BATCH * 5):
                df = batch.to_pandas()
                if plan is None:
                    plan = _column_plan(classify_table(df, engine=engine), policy, df)
                header = [str(c) for c in df.columns]
                for col in header:
                    if plan.get(col) is not None:
                        rows = [[v] for v in df[col].astype("string").fillna("").tolist()]
                        _apply_plan(rows, [col], {col: plan[col]}, engine, policy, key, counts)
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
              encoding: str = "utf-8") -> dict:
    """De-identify ``inp`` into ``out`` (atomically); returns counts per column and type.

    Raises
    ------
    DataError
        Missing, binary or non-UTF-8 input; ``out`` is ``inp``; the policy names a column the
        table lacks.
    """
    inp, out = Path(inp), Path(out)
    check_input(inp, encoding)
    check_output(inp, out)
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


def scan_file(path: str | Path, *, encoding: str = "utf-8", max_rows: int = 5000) -> dict:
    """What PII is where: per column for tables, per type (with line numbers) for text."""
    path = Path(path)
    check_input(path, encoding)
    kind = _kind(path)
    engine = PiiEngine()
    if kind in ("csv", "parquet"):
        if kind == "csv":
            df = pd.read_csv(path, sep="\t" if path.suffix.lower() == ".tsv" else ",",
                             nrows=max_rows, dtype="string", encoding=encoding)
        else:
            import pyarrow.parquet as pq

            batch = next(pq.ParquetFile(path).iter_batches(batch_size=max_rows), None)
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

