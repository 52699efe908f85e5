"""Compress a model for local hardware, measure every variant, and choose the one to serve.

Variants: ``fp32`` (the exported model), ``int8`` (dynamic quantization), ``int8_static`` (QDQ,
calibrated on training rows), ``pruned`` (magnitude or structured pruning, fine-tuned) and
``distilled`` (a smaller student trained on the teacher's soft targets). Each is measured the same
way: file size, ONNX Runtime latency (p50/p99 at batch 1 and 256, in-process after warm-up, the
number of intra-op threads stated) and the task metric on the test set.

The rule: serve the variant with the lowest batch-256 p50 latency among those whose metric is at
most ``max_metric_loss`` below fp32's; fp32 is always eligible, so an int8 model that is slower,
or loses too much, is not served.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable

import numpy as np

from bentu.errors import ConfigError
from bentu.metrics import roc_auc
from bentu.inference.latency import make_session, measure_latency

__all__ = ["compress_model", "choose_variant", "evaluate_onnx", "VARIANT_FILES"]

log = logging.getLogger(__name__)

#: File name (inside the model folder) of each variant.
VARIANT_FILES = {
    "fp32": "model.onnx",
    "int8": "model.int8.onnx",
    "int8_static": "model.int8-static.onnx",
    "pruned": "model.pruned.onnx",
    "distilled": "model.distilled.onnx",
}


def evaluate_onnx(
    path: str | Path,
    inputs: dict[str, np.ndarray],
    y: np.ndarray,
    *,
    mask: np.ndarray | None = None,
    metric_fn: Callable[[np.ndarray, np.ndarray], float] | None = None,
    batch_size: int = 1024,
) -> float:
    """The metric (default ROC AUC) of an ONNX model's probabilities on ``inputs``.

    ``mask`` (same shape as the output) selects the elements that count, e.g. the answered steps
    of a knowledge-tracing sequence.
    """
    sess = make_session(path, threads=1)
    n = next(iter(inputs.values())).shape[0]
    logits = np.concatenate(
        [sess.run(None, {k: v[i : i + batch_size] for k, v in inputs.items()})[0] for i in range(0, n, batch_size)]
    )
    p = 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))
    y = np.asarray(y)
    if mask is not None:
        m = np.asarray(mask).astype(bool)
        p, y = p[m], y[m]
    return float((metric_fn or roc_auc)(y.reshape(-1), p.reshape(-1)))


def choose_variant(variants: dict[str, dict], max_metric_loss: float) -> tuple[str, str, str]:
    """Pick the variant to serve; return ``(name, reason_en, reason_zh)``.

    ``variants[name]`` needs ``metric_loss`` and ``latency.batch_256.p50_ms``; ``fp32`` must exist.
    """
    def p50(name: str) -> float:
        return float(variants[name]["latency"]["batch_256"]["p50_ms"])

    eligible = [n for n, v in variants.items() if n == "fp32" or v["metric_loss"] <= max_metric_loss]
    chosen = min(eligible, key=lambda n: (p50(n), n != "fp32"))
    if chosen != "fp32":
        v = variants[chosen]
        en = (
            f"{chosen} is the fastest variant at batch 256 ({p50(chosen):.4g} ms vs fp32 {p50('fp32'):.4g} ms, "
            f"{p50('fp32') / p50(chosen):.2f}x) and loses {v['metric_loss']:.4f} of the metric "
            f"(allowed: {max_metric_loss:g})."
        )
        zh = (
            f"{chosen} 在批量 256 时最快（{p50(chosen):.4g} 毫秒，fp32 为 {p50('fp32'):.4g} 毫秒，"
            f"快 {p50('fp32') / p50(chosen):.2f} 倍），指标损失 {v['metric_loss']:.4f}（允许 {max_metric_loss:g}）。"
        )
        return chosen, en, zh
    why_en, why_zh = [], []
    for n, v in variants.items():
        if n == "fp32":
            continue
        if v["metric_loss"] > max_metric_loss:
            why_en.append(f"{n} loses {v['metric_loss']:.4f} of the metric (allowed: {max_metric_loss:g})")
            why_zh.append(f"{n} 指标损失 {v['metric_loss']:.4f}（允许 {max_metric_loss:g}）")
        else:
            why_en.append(f"{n} is not faster at batch 256 ({p50(n):.4g} ms vs fp32 {p50('fp32'):.4g} ms)")
            why_zh.append(f"{n} 在批量 256 时不比 fp32 快（{p50(n):.4g} 毫秒，fp32 为 {p50('fp32'):.4g} 毫秒）")
    if not why_en:
        return "fp32", "fp32 is the only variant.", "只有 fp32 一个版本。"
    return "fp32", "Keeping fp32: " + "; ".join(why_en) + ".", "保留 fp32：" + "；".join(why_zh) + "。"


def _dynamic_dims(onnx_path: Path) -> tuple[tuple[str, ...], dict[str, dict[int, str]]]:
    """Input names and their symbolic (dynamic) axes beyond the batch, from an ONNX model."""
    sess = make_session(onnx_path)
    names, dims = [], {}
    for inp in sess.get_inputs():
        names.append(inp.name)
        extra = {i: str(d) for i, d in enumerate(inp.shape) if i > 0 and not isinstance(d, int)}
        if extra:
            dims[inp.name] = extra
    return tuple(names), dims


def _export_variant(model, onnx_path: Path, out: Path, test_inputs: dict[str, np.ndarray]) -> dict:
    import torch

    from bentu.inference.export import export_onnx

    names, dims = _dynamic_dims(onnx_path)
    example = tuple(torch.from_numpy(np.ascontiguousarray(test_inputs[n][:4])) for n in names)
    return export_onnx(model.eval(), example, out, input_names=names, dynamic_dims=dims)


def _student(cfg_distill: dict, model_spec: dict | None):
    from bentu.models import create_model

    student_cfg = dict(cfg_distill.get("student") or {})
    if not model_spec and "name" not in student_cfg:
        raise ConfigError(
            "compress.distill needs the student model: set compress.distill.student "
            "(e.g. {name: tabular_mlp, in_features: 40, hidden: [32]}), or pass model_spec.",
            "compress.distill 需要学生模型：请设置 compress.distill.student"
            "（例如 {name: tabular_mlp, in_features: 40, hidden: [32]}），或传入 model_spec。",
        )
    spec = model_spec or {"name": student_cfg["name"], "params": {}}
    name = student_cfg.pop("name", spec["name"])
    params = {**(spec.get("params") or {}), **student_cfg} if name == spec["name"] else student_cfg
    return name, params, create_model(name, **params)


def compress_model(
    *,
    onnx_path: Path,
    out_dir: Path,
    calib: dict[str, np.ndarray],
    test_inputs: dict[str, np.ndarray],
    y_test: np.ndarray,
    cfg: Any,
    metric_fn: Callable[[np.ndarray, np.ndarray], float] | None = None,
    torch_model: Any = None,
    train_dataset: Any = None,
    mask: np.ndarray | None = None,
    val_dataset: Any = None,
    model_spec: dict | None = None,
    prune_structured: bool = False,
    threads: int = 1,
    latency_seconds: float = 3.0,
) -> dict:
    """Write the compressed variants of ``onnx_path`` into ``out_dir`` and measure them all.

    Parameters
    ----------
    onnx_path : Path
        The fp32 model (``model/model.onnx``).
    out_dir : Path
        Where the variants are written (``model/``).
    calib : dict of str to ndarray
        Calibration inputs from the training split, by ONNX input name (static int8).
    test_inputs, y_test : dict of str to ndarray, ndarray
        Test inputs by input name and their labels (same shape as the model's output).
    cfg : bentu.recipe.CompressCfg
        ``int8``, ``static``, ``prune`` (fraction), ``distill`` (mapping) and ``max_metric_loss``.
        ``distill`` keys: ``student`` (model name and parameters that differ from the teacher's),
        ``epochs`` (5), ``temperature`` (1.0), ``alpha`` (0.5), ``lr`` (1e-3), ``batch_size`` (512).
    metric_fn : callable, optional
        ``metric_fn(y, p) -> float``, higher is better; ROC AUC by default.
    torch_model : nn.Module, optional
        The trained model: needed for pruning and distillation (teacher).
    train_dataset, val_dataset : Dataset, optional
        Fine-tuning / distillation data for the Trainer.
    mask : ndarray, optional
        Which output elements count for the metric (knowledge tracing).
    model_spec : dict, optional
        ``{"name", "params"}`` of the trained model (``model/model.json``), the base of the student.
    prune_structured : bool
        Structured (channel) pruning instead of magnitude pruning.
    threads : int
        ONNX Runtime intra-op threads for the latency measurements.

    Returns
    -------
    dict
        The content of ``compression.json``: ``{"metric", "threads", "max_metric_loss", "variants":
        {name: {"file", "size_bytes", "latency", "metric", "metric_delta", "metric_loss", ...}},
        "chosen", "reason", "reason_zh"}``. Files are relative to ``out_dir``'s parent (the run
        directory when ``out_dir`` is its ``model/`` folder).
    """
    onnx_path, out_dir = Path(onnx_path), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {"fp32": onnx_path}
    extra: dict[str, dict] = {"fp32": {}}
    if cfg.int8:
        from bentu.inference.quantize import quantize_dynamic_int8

        files["int8"] = quantize_dynamic_int8(onnx_path, out_dir / VARIANT_FILES["int8"])
        extra["int8"] = {"method": "onnxruntime dynamic int8 (weights int8, activations quantized per batch)"}
    if cfg.static:
        from bentu.inference.quantize import quantize_static_int8

        files["int8_static"] = quantize_static_int8(onnx_path, out_dir / VARIANT_FILES["int8_static"], calib)
        extra["int8_static"] = {
            "method": "onnxruntime static int8 QDQ, min-max calibration",
            "calibration_rows": int(min(len(next(iter(calib.values()))), 1024)),
        }
    needs_torch = [k for k, on in (("prune", cfg.prune), ("distill", cfg.distill)) if on]
    if needs_torch and (torch_model is None or train_dataset is None):
        raise ConfigError(
            f"compress.{needs_torch[0]} needs the trained PyTorch model and the training data; "
            "run it from a recipe (bentu run) or give bentu compress the labelled data with --data.",
            f"compress.{needs_torch[0]} 需要训练好的 PyTorch 模型和训练数据；请在配方中运行（bentu run），"
            "或用 --data 为 bentu compress 提供带标签的数据。",
        )
    if cfg.prune:
        from bentu.inference.prune import prune_model

        pruned, info = prune_model(
            torch_model, amount=float(cfg.prune), structured=prune_structured,
            train_dataset=train_dataset, val_dataset=val_dataset,
        )
        files["pruned"] = out_dir / VARIANT_FILES["pruned"]
        info["parity"] = _export_variant(pruned, onnx_path, files["pruned"], test_inputs)
        extra["pruned"] = info
    if cfg.distill:
        from bentu.train.distill import distill

        d = dict(cfg.distill)
        name, params, student = _student(d, model_spec)
        trainer = distill(
            torch_model, student, train_dataset, val_dataset,
            temperature=float(d.get("temperature", 1.0)), alpha=float(d.get("alpha", 0.5)),
            epochs=int(d.get("epochs", 5)), lr=float(d.get("lr", 1e-3)), batch_size=int(d.get("batch_size", 512)),
        )
        files["distilled"] = out_dir / VARIANT_FILES["distilled"]
        extra["distilled"] = {
            "student": {"name": name, "params": params},
            "parameters": int(sum(p.numel() for p in student.parameters())),
            "teacher_parameters": int(sum(p.numel() for p in torch_model.parameters())),
            "epochs": len(trainer.history_),
            "parity": _export_variant(student, onnx_path, files["distilled"], test_inputs),
        }
    base_metric = evaluate_onnx(onnx_path, test_inputs, y_test, mask=mask, metric_fn=metric_fn)
    variants: dict[str, dict] = {}
    for name, path in files.items():
        metric = base_metric if name == "fp32" else evaluate_onnx(path, test_inputs, y_test, mask=mask, metric_fn=metric_fn)
        try:  # relative to the run directory (the parent of model/), as the Predictor reads it
            rel = path.resolve().relative_to(out_dir.resolve().parent).as_posix()
        except ValueError:
            rel = path.name
        variants[name] = {
            "file": rel,
            "size_bytes": path.stat().st_size,
            "latency": measure_latency(path, test_inputs, threads=threads, max_seconds=latency_seconds),
            "metric": round(metric, 6),
            "metric_delta": round(metric - base_metric, 6),
            "metric_loss": round(max(base_metric - metric, 0.0), 6),
            **extra.get(name, {}),
        }
        log.info("variant %s: %s", name, variants[name])
    chosen, reason, reason_zh = choose_variant(variants, cfg.max_metric_loss)
    fp = variants["fp32"]
    for v in variants.values():
        v["size_ratio_vs_fp32"] = round(fp["size_bytes"] / v["size_bytes"], 3)
        v["speedup_b256_vs_fp32"] = round(fp["latency"]["batch_256"]["p50_ms"] / v["latency"]["batch_256"]["p50_ms"], 3)
    return {
        "metric": getattr(metric_fn, "__name__", "auc") if metric_fn else "auc",
        "threads": int(threads),
        "measured": "ONNX Runtime CPUExecutionProvider, in-process, after warm-up; p50/p99 of session.run wall time",
        "max_metric_loss": float(cfg.max_metric_loss),
        "variants": variants,
        "chosen": chosen,
        "chosen_file": variants[chosen]["file"],
        "reason": reason,
        "reason_zh": reason_zh,
    }
