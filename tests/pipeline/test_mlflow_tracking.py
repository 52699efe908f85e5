"""tracking.mlflow: a finished run in a local MLflow file store — params, metrics, the run
directory as artifacts, and a model that `mlflow models predict` scores like bentu does."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

mlflow = pytest.importorskip("mlflow")

from bentu.api import load_run  # noqa: E402
from bentu.compliance.audit_log import verify_run  # noqa: E402
from bentu.datasets.credit_sim import simulate_credit  # noqa: E402
from bentu.pipeline import run_recipe  # noqa: E402
from bentu.recipe import load_recipe  # noqa: E402


@pytest.fixture(scope="module")
def tracked(tmp_path_factory):
    base = tmp_path_factory.mktemp("mlflow")
    store = f"sqlite:///{base / 'mlflow.db'}"  # a local store (MLflow 3 retires the plain-folder one)
    os.chdir(base)  # the store keeps artifacts in ./mlruns
    recipe = load_recipe("credit", ["data.options.n_rows=1500", "train.epochs=1", f"tracking.mlflow={store}",
                                    "tracking.experiment=credit-tests"])
    run_dir = run_recipe(recipe, out=base / "run", lang="en", progress=False)
    mlflow.set_tracking_uri(store)
    (run,) = mlflow.search_runs(experiment_names=["credit-tests"], output_format="list")
    return base, store, run_dir, run


def test_params_metrics_and_artifacts_are_logged(tracked):
    _, _, run_dir, run = tracked
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert run.data.metrics["test_auc"] == pytest.approx(metrics["test"]["auc"])
    assert run.data.metrics["val_ks"] == pytest.approx(metrics["val"]["ks"])
    assert "baseline.logistic_regression.test_auc" in run.data.metrics
    assert run.data.params["train.epochs"] == "1" and run.data.params["model.name"] == "tabular_mlp"
    names = {a.path for a in mlflow.MlflowClient().list_artifacts(run.info.run_id, "run_dir")}
    assert {"run_dir/report.html", "run_dir/audit.jsonl", "run_dir/metrics.json"} <= names
    assert verify_run(run_dir).ok  # logging never writes into the run directory


def test_mlflow_models_predict_scores_like_bentu(tracked):
    base, store, run_dir, run = tracked
    rows = simulate_credit(n_rows=20, seed=5).drop(columns=["default", "true_pd"])
    inp, out = base / "rows.csv", base / "pred.json"
    rows.to_csv(inp, index=False)
    env = {**os.environ, "MLFLOW_TRACKING_URI": store}
    bindir = Path(sys.executable).parent
    proc = subprocess.run([str(bindir / "mlflow"), "models", "predict", "-m", f"runs:/{run.info.run_id}/model", "-i", str(inp),
                           "-t", "csv", "-o", str(out), "--env-manager", "local"], env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = pd.DataFrame(json.loads(out.read_text())["predictions"])
    want = load_run(run_dir).predict(pd.read_csv(inp))
    assert got["score"].to_numpy() == pytest.approx(want["score"].to_numpy(), abs=1e-6)
    assert got["decision"].tolist() == want["decision"].tolist()
