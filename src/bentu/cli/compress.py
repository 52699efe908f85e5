"""``bentu compress RUN_DIR``: int8 / pruned / distilled variants of a run's model, measured and chosen."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated, Optional

import typer

from bentu.cli._common import err_console, out_console, pick_lang, user_errors

__all__ = ["compress", "compress_run"]


def _read_table(path: Path):
    import pandas as pd

    from bentu.errors import DataError

    readers = {".csv": pd.read_csv, ".parquet": pd.read_parquet, ".jsonl": lambda p: pd.read_json(p, lines=True)}
    if not path.is_file() or path.suffix.lower() not in readers:
        raise DataError(
            f"--data {path}: expected an existing .csv, .parquet or .jsonl file of labelled raw records.",
            f"--data {path}：应为已存在的 .csv、.parquet 或 .jsonl 文件（带标签的原始记录）。",
        )
    return readers[path.suffix.lower()](path)


def _compress_cfg(run_dir: Path, overrides: dict):
    import yaml

    from bentu.recipe import CompressCfg

    base = {}
    recipe = run_dir / "recipe.yaml"
    if recipe.is_file():
        base = (yaml.safe_load(recipe.read_text(encoding="utf-8")) or {}).get("compress") or {}
    return CompressCfg.model_validate({**base, **{k: v for k, v in overrides.items() if v is not None}})


def compress_run(run_dir: Path, data: Path, *, overrides: dict | None = None, structured: bool = False,
                 threads: int = 1, seed: int = 0) -> dict:
    """Compress the model of ``run_dir`` with labelled rows from ``data``; write compression.json; log it."""
    import numpy as np
    import torch
    from torch.utils.data import TensorDataset

    from bentu.atomic import write_text_atomic
    from bentu.compliance.audit_log import AuditLog, require_complete_run, verify_run
    from bentu.errors import DataError
    from bentu.inference.compress import compress_model
    from bentu.inference.predictor import Predictor
    from bentu.models import create_model
    from bentu.rundir.weights import load_model_weights

    run_dir = Path(run_dir)
    report = verify_run(run_dir)
    if not report.ok:
        p = report.first
        raise DataError(
            f"{run_dir} fails its audit check (audit.jsonl line {p['line']}: {p['reason']}); "
            f"refusing to compress a model whose files changed. See 'bentu audit verify {run_dir}'.",
            f"{run_dir} 未通过审计检查（audit.jsonl 第 {p['line']} 行：{p['reason_zh']}）；拒绝压缩文件已被改动的模型。"
            f"请查看 'bentu audit verify {run_dir}'。",
        )
    require_complete_run(run_dir)  # keyed MACs and the final 'complete' record
    cfg = _compress_cfg(run_dir, overrides or {})
    predictor = Predictor.from_run_dir(run_dir, "fp32")
    pre = predictor.preprocess
    if predictor.kind != "tabular":
        raise DataError(
            f"bentu compress --data works for tabular runs; {run_dir} is a {predictor.kind!r} run: set the "
            "recipe's compress: section and re-run it with 'bentu run'.",
            f"bentu compress --data 只适用于表格模型；{run_dir} 是 {predictor.kind!r} 模型：请在配方的 compress: 段中设置后用 'bentu run' 重新运行。",
        )
    df = _read_table(Path(data))
    target = pre.get("target")
    if target not in df.columns:
        raise DataError(
            f"--data {data}: no target column {target!r} (the run's target); the file needs labelled rows.",
            f"--data {data}：没有目标列 {target!r}（该运行的目标）；文件需要带标签的记录。",
        )
    x = predictor.transform(df)
    y = df[target].to_numpy(np.float32)
    order = np.random.default_rng(seed).permutation(len(df))
    half = len(order) // 2
    fit_idx, test_idx = order[:half], order[half:]
    spec, state = load_model_weights(run_dir)
    model = create_model(spec.name, **spec.params)
    model.load_state_dict(state)
    model.eval()
    train_ds = TensorDataset(torch.from_numpy(x[fit_idx]), torch.from_numpy(y[fit_idx]))
    result = compress_model(
        onnx_path=run_dir / "model" / "model.onnx", out_dir=run_dir / "model", calib={"input": x[fit_idx]},
        test_inputs={"input": x[test_idx]}, y_test=y[test_idx], cfg=cfg, torch_model=model, train_dataset=train_ds,
        model_spec={"name": spec.name, "params": spec.params}, prune_structured=structured, threads=threads,
    )
    result["data"] = {"source": str(data), "calibration_rows": int(half), "test_rows": int(len(test_idx)), "seed": seed}
    out = run_dir / "compression.json"
    write_text_atomic(out, json.dumps(result, ensure_ascii=False, indent=2))
    outputs = {"compression": out, **{f"model_{k}": run_dir / v["file"] for k, v in result["variants"].items() if k != "fp32"}}
    AuditLog(run_dir / "audit.jsonl", root=run_dir).append(
        "compress", params={"compress": cfg.model_dump(), "chosen": result["chosen"], "threads": threads},
        inputs={"data": Path(data).resolve(), "model_onnx": run_dir / "model" / "model.onnx"}, outputs=outputs,
    )
    return result


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
    with user_errors(lang):
        result = compress_run(run_dir, data, overrides={"max_metric_loss": max_metric_loss, "static": static, "prune": prune},
                              structured=structured, threads=threads)
    if format == "json":
        out_console.print_json(json.dumps(result, ensure_ascii=False))
        return
    from rich.table import Table

    zh = pick_lang(lang) == "zh"
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
