"""Experiment tracking where users already look: a finished run logged to MLflow.

With ``tracking: {mlflow: URI}`` in a recipe (e.g. ``sqlite:///mlflow.db``, a local store whose
artifacts go to ``./mlruns``, or a tracking server's URL), every finished run is logged as one MLflow run of the experiment ``tracking.experiment``:

- **params** — the resolved recipe, flattened (``train.lr``, ``model.hidden``, …);
- **metrics** — the test and validation metrics of the model and of each baseline
  (``test_auc``, ``val_ks``, ``baseline.logistic_regression.test_auc``, …);
- **artifacts** — the whole run directory under ``run_dir/`` (report, model card, audit log …);
- **model** — an MLflow ``pyfunc`` model under ``model/`` that scores raw rows with the run's own
  :class:`~bentu.inference.predictor.Predictor`, so ``mlflow models predict -m runs:/ID/model
  -i rows.csv -t csv --env-manager local`` gives the scores ``bentu predict`` gives.

Logging happens after the run directory is complete and never writes into it (its audit log
stays verifiable); the MLflow run id is returned and printed. Tracking needs ``mlflow-skinny``
(``pip install 'bentu[tracking]'``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from bentu.errors import MissingDependencyError

__all__ = ["log_run", "BentuPyfunc"]


def _flat(obj: Any, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.update(_flat(v, f"{prefix}{k}."))
    else:
        out[prefix[:-1]] = json.dumps(obj, ensure_ascii=False) if not isinstance(obj, str) else obj
    return out


def _metrics(metrics: dict) -> dict[str, float]:
    out = {}
    for split in ("test", "val"):
        for k, v in (metrics.get(split) or {}).items():
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
                out[f"{split}_{k}"] = float(v)
    for name, b in (metrics.get("baselines") or {}).items():
        for split in ("test", "val"):
            v = (b.get(split) or {}).get("auc")
            if isinstance(v, (int, float)) and math.isfinite(v):
                out[f"baseline.{name}.{split}_auc"] = float(v)
    return out


class BentuPyfunc:
    """The MLflow pyfunc wrapper: scores raw rows with the logged run directory's Predictor."""

    def load_context(self, context) -> None:
        from bentu.api import load_run

        self.run = load_run(context.artifacts["run_dir"])

    def predict(self, context, model_input, params=None):
        import pandas as pd

        df = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        return self.run.predict(df)[["score", "decision"]]


def log_run(run_dir: Path, resolved: dict, *, uri: str, experiment: str = "bentu") -> str:
    """Log a finished run to MLflow at ``uri``; return the MLflow run id."""
    try:
        import mlflow
        import mlflow.pyfunc
    except ImportError as err:
        raise MissingDependencyError(
            "tracking.mlflow needs MLflow (pip install 'bentu[tracking]', i.e. mlflow-skinny).",
            "tracking.mlflow 需要 MLflow（pip install 'bentu[tracking]'，即 mlflow-skinny）。") from err

    class _Model(BentuPyfunc, mlflow.pyfunc.PythonModel):  # ours first: PythonModel.predict is abstract
        pass

    run_dir = Path(run_dir)
    metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment(experiment)
    with mlflow.start_run(run_name=run_dir.name) as active:
        params = _flat({k: v for k, v in resolved.items() if k != "tracking"})
        mlflow.log_params({k[:250]: v[:6000] for k, v in params.items()})
        mlflow.log_metrics(_metrics(metrics))
        mlflow.set_tags({"bentu.run_dir": str(run_dir.resolve()), "bentu.application": resolved.get("application", "")})
        mlflow.log_artifacts(str(run_dir), artifact_path="run_dir")
        mlflow.pyfunc.log_model(name="model", python_model=_Model(), artifacts={"run_dir": str(run_dir)},
                                pip_requirements=["bentu"])
        return active.info.run_id
