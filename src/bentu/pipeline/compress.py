"""Compress a finished run's model with labelled rows the user gives (``bentu compress RUN_DIR
--data FILE``): the run is verified first, half of the rows calibrate / fine-tune and half test,
``compression.json`` is written atomically and a ``compress`` step is appended to the audit log.

It lives in the wiring layer because it reads the run's recipe and writes its audit log; the
compression itself is :func:`bentu.inference.compress.compress_model`.
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["compress_run"]


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
