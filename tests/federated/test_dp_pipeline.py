"""`bentu run credit` with train.dp: a federated DP-SGD run writes its ε to metrics.json, the report
and the GB/T 37964 evidence; a batch-norm model is refused with exit code 2."""

import json
import os

import pytest
from typer.testing import CliRunner

from bentu.cli.app import app

SMALL = ["--set", "data.options.n_rows=3000", "--set", "audit.explain=null", "--set", "audit.fairness=false",
         "--set", "compress.int8=false", "--quiet", "--lang", "en"]
runner = CliRunner()


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    base = tmp_path_factory.mktemp("credit-dp")
    os.chdir(base)
    result = runner.invoke(app, ["run", "credit", *SMALL, "--set", "federated.enabled=true", "--set",
                                 "federated.rounds=2", "--set", "federated.client_cpus=0.5", "--set",
                                 "train.dp.epsilon=4", "--set", "model.norm=layer"])
    assert result.exit_code == 0, result.output + result.stderr
    return base / result.stdout.strip().splitlines()[-1]


def test_federated_dp_run_states_epsilon_everywhere(run_dir):
    metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    dp = metrics["dp"]
    assert dp["level"] == "record" and dp["accountant"] == "rdp" and dp["max_grad_norm"] == 1.0
    assert 3.9 < dp["epsilon"] <= 4.0
    assert dp["epsilon"] == max(c["epsilon"] for c in dp["per_client"].values())
    lenders = set(metrics["training"]["clients"])
    assert set(dp["per_client"]) == lenders and len(lenders) >= 2
    smallest = min(c["rows"] for c in dp["per_client"].values())
    assert dp["delta"] == pytest.approx(1 / (10 * smallest))
    assert {"en", "zh"} <= set(dp["protects"]) and {"en", "zh"} <= set(dp["does_not_protect"])
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    assert "Differential privacy (record level)" in html
    assert f"ε = {dp['epsilon']:.3f}" in html and dp["protects"]["en"].split(":")[0] in html
    compliance = json.loads((run_dir / "compliance.json").read_text(encoding="utf-8"))
    rule = next(v for v in compliance["verdicts"] if v["rule"] == "gbt37964.model_randomisation_dp")
    assert rule["verdict"] == "needs_human_review"
    assert rule["evidence"][0]["ref"] == "metrics.json#/dp/epsilon" and rule["evidence"][0]["observed"] == dp["epsilon"]
    card = (run_dir / "model_card.en.md").read_text(encoding="utf-8")
    assert f"**Differential privacy**: record level (DP-SGD), ε = {dp['epsilon']:.3f}" in card


def test_dp_with_a_batch_norm_model_is_a_clear_error(tmp_path):
    os.chdir(tmp_path)
    result = runner.invoke(app, ["run", "credit", *SMALL, "--set", "train.dp.epsilon=4", "--set", "train.epochs=1"])
    assert result.exit_code == 2
    out = " ".join((result.output + result.stderr).split())
    assert "DP-SGD (train.dp) cannot train this model: Opacus refuses its layers body.1 (BatchNorm1d), body.5 " \
           "(BatchNorm1d)." in out
    assert "Traceback" not in out
