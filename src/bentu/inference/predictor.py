"""Score raw records from a run directory with ONNX Runtime, preprocessing included."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from bentu.errors import DataError

__all__ = ["Predictor"]


class Predictor:
    """A model from a run directory, ready to score raw rows.

    Use :meth:`from_run_dir`. ``predict_proba`` takes a DataFrame or a list of dicts in the
    recipe's input schema and returns the probability of the event (e.g. default).
    """

    def __init__(self, *, onnx_path: Path, preprocess: dict, threshold: float, run_dir: Path, variant: str, threads: int | None = None):
        import onnxruntime as ort

        from bentu.data.preprocess import TabularPreprocessor

        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        self.preprocess = preprocess
        self.kind = preprocess.get("kind", "tabular")
        self._tab = TabularPreprocessor.from_dict(preprocess) if self.kind == "tabular" else None
        self.threshold = float(threshold)
        self.run_dir, self.model_path, self.variant = run_dir, onnx_path, variant

    @classmethod
    def from_run_dir(cls, run_dir: str | Path, variant: str | None = None, *, threads: int | None = None) -> "Predictor":
        """Load the model (``variant`` from compression.json, default the chosen one) and its preprocessing."""
        run_dir = Path(run_dir)
        model_dir = run_dir / "model"
        pre_path = model_dir / "preprocess.json"
        if not run_dir.is_dir():
            raise DataError(f"Run directory {run_dir} does not exist.", f"运行目录 {run_dir} 不存在。")
        if (model_dir / "adapter" / "adapter_config.json").is_file():
            raise DataError(
                f"{run_dir} is a language-model tuning run (model/adapter is a LoRA adapter), not a scoring model: "
                f"serve it with `bentu llm serve --model BASE --adapter {model_dir / 'adapter'}`.",
                f"{run_dir} 是语言模型微调运行（model/adapter 为 LoRA 适配器），不是评分模型：请用 "
                f"`bentu llm serve --model 基座模型 --adapter {model_dir / 'adapter'}` 提供服务。",
            )
        if not pre_path.exists() or not (model_dir / "model.onnx").exists():
            raise DataError(
                f"{run_dir} holds no model: expected model/model.onnx and model/preprocess.json "
                "(written by `bentu run`).",
                f"{run_dir} 中没有模型：应有 model/model.onnx 和 model/preprocess.json（由 `bentu run` 生成）。",
            )
        preprocess = json.loads(pre_path.read_text(encoding="utf-8"))
        onnx_path, chosen = model_dir / "model.onnx", "fp32"
        comp = run_dir / "compression.json"
        if comp.exists():
            info = json.loads(comp.read_text(encoding="utf-8"))
            variants = info.get("variants", {})
            want = variant or info.get("chosen", "fp32")
            if want not in variants and want != "fp32":
                raise DataError(
                    f"{run_dir}: unknown model variant {want!r}; available: {', '.join(sorted(variants) or ['fp32'])}.",
                    f"{run_dir}：未知的模型版本 {want!r}；可用：{', '.join(sorted(variants) or ['fp32'])}。",
                )
            if want in variants and variants[want].get("file"):
                onnx_path, chosen = run_dir / variants[want]["file"], want
        elif variant not in (None, "fp32"):
            raise DataError(f"{run_dir} has no compression.json, so only the fp32 model exists.",
                            f"{run_dir} 没有 compression.json，只有 fp32 模型。")
        return cls(onnx_path=onnx_path, preprocess=preprocess, threshold=preprocess.get("threshold", 0.5),
                   run_dir=run_dir, variant=chosen, threads=threads)

    @property
    def input_schema(self) -> list[dict]:
        """Raw input columns with their types (and categories for categorical ones)."""
        if self._tab is None:
            return []
        return ([{"name": s["name"], "type": "numeric"} for s in self._tab.numeric_]
                + [{"name": s["name"], "type": "categorical", "categories": s["categories"]} for s in self._tab.categorical_])

    @property
    def feature_names(self) -> list[str]:
        return list(self._tab.feature_names_) if self._tab is not None else []

    def transform(self, records: pd.DataFrame | list[dict], source: str = "records") -> np.ndarray:
        """Preprocess raw records into the model's float32 input matrix (``source`` names them in errors)."""
        if self._tab is None:
            raise DataError(f"Model kind {self.kind!r} has no tabular preprocessing.", f"模型类型 {self.kind!r} 没有表格预处理。")
        df = records if isinstance(records, pd.DataFrame) else pd.DataFrame.from_records(records)
        return self._tab.transform(df, source=source)

    def view(self, records: pd.DataFrame | list[dict]) -> pd.DataFrame:
        """Raw records' input columns as the model sees them (see
        :meth:`bentu.data.preprocess.TabularPreprocessor.view`): what reason codes quote and drift compares."""
        if self._tab is None:
            raise DataError(f"Model kind {self.kind!r} has no tabular preprocessing.", f"模型类型 {self.kind!r} 没有表格预处理。")
        df = records if isinstance(records, pd.DataFrame) else pd.DataFrame.from_records(records)
        return self._tab.view(df)

    def predict_logit(self, x: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: x})[0].reshape(-1)

    def predict_proba(self, records: pd.DataFrame | list[dict], source: str = "records") -> np.ndarray:
        """Probability of the event for each raw record."""
        return 1.0 / (1.0 + np.exp(-self.predict_logit(self.transform(records, source))))
