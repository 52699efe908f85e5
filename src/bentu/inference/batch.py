"""Batch scoring: a CSV, Parquet or JSON Lines file scored in chunks with a run's :class:`Predictor`.

Memory stays bounded by the chunk size whatever the file's length; the output is written to a
temporary file beside it and renamed into place only when every row is scored, so a failed run
never leaves a half-written file, and neither the input nor an existing output is overwritten.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bentu.errors import DataError
from bentu.inference.predictor import Predictor

__all__ = ["ReasonExplainer", "reason_columns", "score_frame", "score_file", "BatchResult", "iter_chunks", "decision_labels"]

log = logging.getLogger(__name__)
FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def decision_labels(preprocess: dict) -> tuple[str, str]:
    """(label at or above the threshold, label below it), as ``bentu serve`` decides."""
    dec = preprocess.get("decision")
    if isinstance(dec, dict):
        return str(dec["at_or_above_threshold"]), str(dec["below_threshold"])
    return "positive", "negative"


class ReasonExplainer:
    """Reason codes of a tabular run's decisions: DeepSHAP on the run's weights (``model/model.safetensors``), as ``/v1/explain``.

    The reference rows are ``model/background.npy`` when the run saved them, else one reference
    applicant: the training medians and the most common category of each column.
    """

    def __init__(self, predictor: Predictor):
        from bentu.models import create_model
        from bentu.rundir.weights import load_model_weights

        run_dir = Path(predictor.run_dir)
        if predictor.kind != "tabular" or not (run_dir / "model" / "model.json").is_file():
            raise DataError(
                f"{run_dir}: reason codes need a tabular run with model/model.json and its weights; score without --reasons.",
                f"{run_dir}：原因码需要含 model/model.json 及其权重的表格模型运行；请不加 --reasons 评分。",
            )
        spec, state = load_model_weights(run_dir)
        self.model = create_model(spec.name, **spec.params).eval()
        self.model.load_state_dict(state)
        self.predictor = predictor
        bg = run_dir / "model" / "background.npy"
        if bg.is_file():
            self.background = np.load(bg).astype(np.float32)
        else:
            pre = predictor.preprocess
            row = {s["name"]: s["median"] for s in pre["numeric"]}
            row.update({s["name"]: (s["categories"] or [None])[0] for s in pre["categorical"]})
            self.background = predictor.transform(pd.DataFrame([row]))

    def __call__(self, df: pd.DataFrame, lang: str = "en") -> list[list[dict]]:
        """Per row, the top adverse factors (``feature``, ``direction``, ``contribution``, ``text``, ...)."""
        from bentu.audit.explain import explain_tabular

        pre = self.predictor.preprocess
        exp = explain_tabular(model=self.model, background=self.background, X=self.predictor.transform(df),
                              feature_names=list(pre["feature_names"]),
                              groups={k: list(v) for k, v in pre["groups"].items()})
        rows = exp.reason_codes(df.reset_index(drop=True), lang=lang)
        return [[{**r, "code": f"{r['feature']}:{r['direction']}"} for r in row] for row in rows]


def score_frame(predictor: Predictor, df: pd.DataFrame, explainer: ReasonExplainer | None = None,
                lang: str = "en", source: str = "records") -> pd.DataFrame:
    """Scores and decisions (and reason codes with ``explainer``) of raw rows, index kept."""
    scores = predictor.predict_proba(df, source).astype(np.float64)
    above, below = decision_labels(predictor.preprocess)
    out = pd.DataFrame({"score": scores, "decision": np.where(scores >= predictor.threshold, above, below)},
                       index=df.index)
    if explainer is not None:
        out["reason_codes"], out["reasons"] = reason_columns(explainer(df, lang=lang))
    return out


def reason_columns(factors: list[list[dict]]) -> tuple[list[str], list[str]]:
    """Per row, the reason codes joined by ``|`` and the reason sentences joined by ``; ``."""
    return (["|".join(r["code"] for r in row) for row in factors],
            ["; ".join(r["text"] for r in row) for row in factors])


def _format(path: Path, flag: str) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise DataError(
            f"{flag} {path}: cannot tell the format; expected a .csv, .parquet or .jsonl file.",
            f"{flag} {path}：无法判断格式；应为 .csv、.parquet 或 .jsonl 文件。",
        )
    return fmt


def iter_chunks(path: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """The rows of a CSV, Parquet or JSON Lines file, ``chunk_rows`` at a time."""
    fmt = _format(path, "IN")
    if fmt == "parquet":
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(path).iter_batches(batch_size=chunk_rows):
            yield batch.to_pandas()
    elif fmt == "csv":
        yield from pd.read_csv(path, chunksize=chunk_rows)
    else:
        yield from pd.read_json(path, lines=True, chunksize=chunk_rows)


class _Writer:
    """Appends scored chunks to a CSV, Parquet or JSON Lines file."""

    def __init__(self, path: Path, fmt: str):
        self.path, self.fmt, self.first, self._pq = path, fmt, True, None
        self._f = None if fmt == "parquet" else open(path, "w", encoding="utf-8", newline="")

    def write(self, df: pd.DataFrame) -> None:
        if self.fmt == "csv":
            df.to_csv(self._f, header=self.first, index=False, lineterminator="\n")
        elif self.fmt == "jsonl":
            self._f.write(df.to_json(orient="records", lines=True, force_ascii=False).rstrip("\n") + "\n")
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(df, preserve_index=False)
            if self._pq is None:
                self._pq = pq.ParquetWriter(self.path, table.schema)
            self._pq.write_table(table.cast(self._pq.schema))
        self.first = False

    def close(self) -> None:
        if self._f is not None:
            self._f.flush()
            os.fsync(self._f.fileno())
            self._f.close()
            self._f = None
        if self._pq is not None:
            self._pq.close()
            self._pq = None
        elif self.fmt == "parquet" and self.first:  # no rows: still a valid, empty file
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.table({"row": pa.array([], pa.int64()), "score": pa.array([], pa.float64()),
                                     "decision": pa.array([], pa.string())}), self.path)
            self.first = False


@dataclass
class BatchResult:
    """What :func:`score_file` did."""

    out: Path
    rows: int
    chunks: int
    seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else float("nan")


def _check_paths(src: Path, dst: Path, force: bool) -> None:
    if not src.is_file():
        raise DataError(f"IN {src} does not exist or is not a file.", f"输入文件 {src} 不存在或不是文件。")
    _format(src, "IN")
    _format(dst, "OUT")
    if dst.exists() and dst.resolve() == src.resolve():
        raise DataError(f"OUT {dst} is the input file; bentu never overwrites its input. Choose another OUT.",
                        f"输出 {dst} 就是输入文件；bentu 从不覆盖输入。请另选输出路径。")
    if dst.exists() and not force:
        raise DataError(f"OUT {dst} already exists. Choose a new file, or pass --force to replace it.",
                        f"输出 {dst} 已存在。请换一个文件名，或加 --force 替换。")
    if dst.is_dir():
        raise DataError(f"OUT {dst} is a directory, not a file.", f"输出 {dst} 是目录，而不是文件。")
    if not dst.parent.is_dir():
        raise DataError(f"OUT {dst}: folder {dst.parent} does not exist.", f"输出 {dst}：目录 {dst.parent} 不存在。")


def score_file(
    run_dir: str | Path,
    src: str | Path,
    dst: str | Path,
    *,
    reasons: bool = False,
    keep: list[str] | None = None,
    chunk_rows: int = 50_000,
    force: bool = False,
    variant: str | None = None,
    lang: str = "en",
    on_chunk=None,
) -> BatchResult:
    """Score every row of ``src`` with the model of ``run_dir`` and write ``dst`` atomically.

    Parameters
    ----------
    run_dir : path
        A run directory written by ``bentu run`` (tabular).
    src, dst : path
        Input and output files: ``.csv``, ``.parquet`` or ``.jsonl`` (the formats may differ).
    reasons : bool, default False
        Add ``reason_codes`` (``feature:direction`` joined by ``|``) and ``reasons`` (sentences in ``lang``).
    keep : list of str, optional
        Input columns copied to the output (e.g. an application id), before the scores.
    chunk_rows : int, default 50000
        Rows read, scored and written at a time: memory is bounded by this, not by the file.
    force : bool, default False
        Replace an existing ``dst`` (never ``src`` itself).
    on_chunk : callable, optional
        Called with the number of rows scored so far after each chunk (progress).

    Returns
    -------
    BatchResult
        Output path, rows, chunks and seconds. Output row ``row`` is the 0-based input row.

    Raises
    ------
    DataError
        A missing or unknown-format file, an existing ``dst`` without ``force``, a column the model
        needs missing from ``src`` (named), or a ``keep`` column that ``src`` lacks.
    """
    src, dst, run_dir = Path(src), Path(dst), Path(run_dir)
    if chunk_rows < 1:
        raise DataError(f"chunk_rows must be >= 1. Got {chunk_rows} instead.", f"chunk_rows 必须 >= 1，实际为 {chunk_rows}。")
    _check_paths(src, dst, force)
    predictor = Predictor.from_run_dir(run_dir, variant)
    if predictor.kind != "tabular":
        raise DataError(f"{run_dir} holds a {predictor.kind!r} model; bentu predict scores tabular runs only.",
                        f"{run_dir} 是 {predictor.kind!r} 模型；bentu predict 只能为表格模型评分。")
    explainer = ReasonExplainer(predictor) if reasons else None
    tmp = dst.parent / f".{dst.name}.partial-{uuid.uuid4().hex[:8]}"
    writer = _Writer(tmp, _format(dst, "OUT"))
    start, rows, chunks = time.perf_counter(), 0, 0
    try:
        for chunk in iter_chunks(src, chunk_rows):
            missing = sorted(set(keep or []) - set(map(str, chunk.columns)))
            if missing:
                raise DataError(f"{src}: --keep column(s) {', '.join(map(repr, missing[:5]))} not found.",
                                f"{src}：--keep 指定的列 {', '.join(map(repr, missing[:5]))} 不存在。")
            scored = score_frame(predictor, chunk, explainer, lang=lang, source=str(src))
            scored.insert(0, "row", np.arange(rows, rows + len(chunk)))
            for i, col in enumerate(keep or []):
                scored.insert(1 + i, col, chunk[col].to_numpy())
            writer.write(scored)
            rows, chunks = rows + len(chunk), chunks + 1
            if on_chunk is not None:
                on_chunk(rows)
        writer.close()
        os.replace(tmp, dst)
    except BaseException:
        writer.close()
        tmp.unlink(missing_ok=True)
        raise
    result = BatchResult(out=dst, rows=rows, chunks=chunks, seconds=time.perf_counter() - start)
    log.info("scored %d rows in %.1f s (%.0f rows/s) -> %s", rows, result.seconds, result.rows_per_second, dst)
    return result
