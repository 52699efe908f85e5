"""`bentu run credit` end to end on a small simulated portfolio."""

import json
import os

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from bentu.cli.app import app
from bentu.compliance.audit_log import verify_run
from bentu.datasets.credit_sim import simulate_credit
from bentu.inference import Predictor

SMALL = ["--set", "data.options.n_rows=3000", "--set", "train.epochs=3", "--quiet", "--lang", "en"]
runner = CliRunner()


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    base = tmp_path_factory.mktemp("credit")
    os.chdir(base)
    result = runner.invoke(app, ["run", "credit", *SMALL])
    assert result.exit_code == 0, result.output + result.stderr
    last = result.stdout.strip().splitlines()[-1]
    path = base / last
    assert path.is_dir() and path.parent.name == "runs" and path.name.startswith("credit-")
    return path


def test_run_directory_has_every_artifact(run_dir):
    for name in ("recipe.yaml", "data_profile.json", "privacy.json", "metrics.json", "compliance.json",
                 "model_card.zh.md", "model_card.en.md", "energy.json", "audit.jsonl", "report.html",
                 "model/model.safetensors", "model/model.json", "model/model.onnx", "model/preprocess.json"):
        assert (run_dir / name).is_file(), name
    assert not [p for p in run_dir.parent.iterdir() if ".partial-" in p.name]


def test_metrics_have_the_promised_keys(run_dir):
    m = json.loads((run_dir / "metrics.json").read_text())
    assert 0.5 < m["test"]["auc"] <= 1 and 0 < m["test"]["ks"] <= 1
    for key in ("accuracy", "f1", "brier", "ece"):
        assert key in m["test"]
    assert set(m["baselines"]) == {"logistic_regression", "gradient_boosting"}
    assert 0.5 < m["baselines"]["gradient_boosting"]["test"]["auc"] <= 1
    assert m["psi_score_train_test"] >= 0


def test_report_is_self_contained_and_in_recipe_language(run_dir):
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") >= 4  # ROC, KS, calibration, score by lender
    assert "http://" not in html and "https://" not in html
    assert "概览" not in html and "Overview" in html  # --lang en


def test_no_raw_identifier_leaves_the_privacy_gate(run_dir):
    raw = simulate_credit(n_rows=3000, seed=0)
    text = "".join((run_dir / f).read_text(encoding="utf-8") for f in ("privacy.json", "data_profile.json", "metrics.json", "report.html"))
    for col in ("id_card", "mobile"):
        assert not any(v in text for v in raw[col].head(200))


def test_audit_chain_verifies(run_dir):
    assert verify_run(run_dir).ok


def test_predictor_scores_raw_rows_like_the_run(run_dir):
    raw = simulate_credit(n_rows=3000, seed=0).head(50)
    pred = Predictor.from_run_dir(run_dir)
    p = pred.predict_proba(raw)  # raw rows with identifiers and all: preprocessing is in the run dir
    assert p.shape == (50,) and np.all((p > 0) & (p < 1))
    again = pred.predict_proba(raw.to_dict("records"))
    np.testing.assert_allclose(p, again, rtol=1e-6)


def test_same_seed_same_numbers(run_dir, tmp_path):
    os.chdir(tmp_path)
    result = runner.invoke(app, ["run", "credit", *SMALL, "--out", str(tmp_path / "again")])
    assert result.exit_code == 0, result.stderr
    a = json.loads((run_dir / "metrics.json").read_text())
    b = json.loads((tmp_path / "again" / "metrics.json").read_text())
    assert a["test"] == b["test"]
    assert {k: v["test"] for k, v in a["baselines"].items()} == {k: v["test"] for k, v in b["baselines"].items()}


def test_a_csv_bentu_has_never_seen(tmp_path):
    rng = np.random.default_rng(1)
    n = 1500
    df = pd.DataFrame({
        "cust_no": np.arange(n), "tenure_m": rng.integers(1, 120, n), "balance": rng.lognormal(8, 1, n),
        "segment": rng.choice(["retail", "sme", "vip"], n), "region": rng.choice(["north", "south"], n),
    })
    logit = -2 + 0.02 * df["tenure_m"] * -1 + (df["segment"] == "sme") * 1.2 + np.log(df["balance"]) * 0.1
    df["churned"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    df.to_csv(tmp_path / "book.csv", index=False)
    (tmp_path / "r.yaml").write_text(
        "name: churn\ndata: {path: book.csv, target: churned, identifiers: [cust_no], sensitive: [region]}\n"
        "train: {epochs: 3}\nlocale: {language: en, rules: []}\n", encoding="utf-8")
    os.chdir(tmp_path)
    result = runner.invoke(app, ["run", "r.yaml", "--data", str(tmp_path), "--quiet", "--out", "out"])
    assert result.exit_code == 0, result.stderr
    m = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert m["test"]["auc"] > 0.6
    assert json.loads((tmp_path / "out" / "data_profile.json").read_text())["roles"]["features"] == ["tenure_m", "balance", "segment"]
