"""``bentu predict RUN_DIR IN OUT``: score a CSV / Parquet / JSON Lines file in chunks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from bentu.cli._common import err_console, pick_lang, user_errors
from bentu.i18n import is_zh

__all__ = ["predict"]


def predict(
    run_dir: Annotated[Path, typer.Argument(help="A run directory written by `bentu run` (tabular).")],
    src: Annotated[Path, typer.Argument(metavar="IN", help="Rows to score: .csv, .parquet or .jsonl, with the model's input columns.")],
    dst: Annotated[Path, typer.Argument(metavar="OUT", help="Scores to write: .csv, .parquet or .jsonl (columns row, score, decision).")],
    reasons: Annotated[bool, typer.Option("--reasons", help="Add reason codes (DeepSHAP, as /v1/explain): columns reason_codes and reasons.")] = False,
    keep: Annotated[Optional[list[str]], typer.Option("--keep", help="Copy this input column to OUT, e.g. an application id (repeatable).")] = None,
    chunk_rows: Annotated[int, typer.Option(min=1, help="Rows scored at a time (bounds the memory used).")] = 50_000,
    force: Annotated[bool, typer.Option("--force", help="Replace OUT if it exists (IN is never overwritten).")] = False,
    variant: Annotated[Optional[str], typer.Option(help="Model variant from compression.json (default: the chosen one, as `bentu serve`).")] = None,
    lang: Annotated[Optional[str], typer.Option(help="Language of the reasons and messages: zh or en.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress.")] = False,
) -> None:
    """Score every row of IN with RUN_DIR's model and write OUT atomically.

    Uses the same Predictor as `bentu serve`, so a row gets the same score either way. OUT is
    written to a temporary file beside it and renamed when every row is scored.
    """
    from bentu.inference.batch import score_file

    code = pick_lang(lang)
    with user_errors(lang):
        if quiet or not err_console.is_terminal:
            result = score_file(run_dir, src, dst, reasons=reasons, keep=keep, chunk_rows=chunk_rows, force=force,
                                variant=variant, lang=code)
        else:
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                          console=err_console, transient=True) as bar:
                task = bar.add_task("评分中" if is_zh(code) else "scoring")
                result = score_file(
                    run_dir, src, dst, reasons=reasons, keep=keep, chunk_rows=chunk_rows, force=force, variant=variant,
                    lang=code, on_chunk=lambda n: bar.update(task, description=f"{'评分中' if is_zh(code) else 'scoring'}: {n:,}"))
    err_console.print(
        f"已评分 {result.rows:,} 行，用时 {result.seconds:.1f} 秒（{result.rows_per_second:,.0f} 行/秒）：{result.out}"
        if is_zh(code) else
        f"Scored {result.rows:,} rows in {result.seconds:.1f} s ({result.rows_per_second:,.0f} rows/s): {result.out}",
        markup=False)
