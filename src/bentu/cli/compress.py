"""``bentu compress RUN_DIR``: int8 / pruned / distilled variants of a run's model, measured and chosen."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated, Optional

import typer

from bentu.cli._common import err_console, out_console, pick_lang, user_errors
from bentu.i18n import is_zh

__all__ = ["compress"]


def compress(
    run_dir: Annotated[Path, typer.Argument(help="A run directory written by `bentu run`.")],
    data: Annotated[Path, typer.Option(help="Labelled raw records (.csv/.parquet/.jsonl) with the run's target column: half calibrate / fine-tune, half test.")],
    max_metric_loss: Annotated[Optional[float], typer.Option(help="Largest metric (AUC) loss a variant may have to be chosen (default: the recipe's, 0.002).")] = None,
    static: Annotated[Optional[bool], typer.Option("--static/--no-static", help="Also make a static (calibrated QDQ) int8 model.")] = None,
    prune: Annotated[Optional[float], typer.Option(help="Prune this fraction of weights and fine-tune.")] = None,
    structured: Annotated[bool, typer.Option(help="Prune whole channels instead of single weights.")] = False,
    threads: Annotated[int, typer.Option(min=1, help="ONNX Runtime intra-op threads for the latency measurements.")] = 1,
    format: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    lang: Annotated[Optional[str], typer.Option(help="Language: zh or en.")] = None,
) -> None:
    """Make int8 (and optionally pruned) variants of RUN_DIR's model, measure them, choose one.

    Writes RUN_DIR/compression.json and the variant files in RUN_DIR/model/, and appends a
    'compress' step to the audit log. `bentu serve` then serves the chosen variant.
    """
    logging.basicConfig(level=logging.WARNING)
    from bentu.pipeline.compress import compress_run  # torch and the run layers: loaded when the command runs

    with user_errors(lang):
        result = compress_run(run_dir, data, overrides={"max_metric_loss": max_metric_loss, "static": static, "prune": prune},
                              structured=structured, threads=threads)
    if format == "json":
        out_console.print_json(json.dumps(result, ensure_ascii=False))
        return
    from rich.table import Table

    zh = is_zh(pick_lang(lang))
    table = Table(title=("压缩结果" if zh else "Compression") + f" (threads={result['threads']})")
    for col in ("variant", "file", "KB", "b1 p50 ms", "b256 p50 ms", "b256 p99 ms", "AUC", "ΔAUC"):
        table.add_column(col)
    for name, v in result["variants"].items():
        lat = v["latency"]
        table.add_row(name + (" *" if name == result["chosen"] else ""), v["file"], f"{v['size_bytes'] / 1024:.1f}",
                      f"{lat['batch_1']['p50_ms']:.4f}", f"{lat['batch_256']['p50_ms']:.4f}",
                      f"{lat['batch_256']['p99_ms']:.4f}", f"{v['metric']:.4f}", f"{v['metric_delta']:+.4f}")
    out_console.print(table)
    err_console.print(result["reason_zh"] if zh else result["reason"])
