"""Drift profiles, PSI reports and the `bentu monitor` command."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
import typer
from typer.testing import CliRunner

from bentu.audit.drift import drift_report, psi_band, reference_profile
from bentu.audit.metrics import psi
from bentu.datasets.credit_sim import CREDIT_SIM_ROLES, simulate_credit
from bentu.errors import DataError

FEATURES = CREDIT_SIM_ROLES["features"]


@pytest.fixture(scope="module")
def frames():
    return simulate_credit(n_rows=4000, seed=0), simulate_credit(n_rows=3000, seed=1)


def _profile(train: pd.DataFrame) -> dict:
    return reference_profile(train, features=FEATURES, scores=train["true_pd"].to_numpy())


def test_same_population_is_stable(frames):
    train, new = frames
    rep = drift_report(_profile(train), new, new["true_pd"].to_numpy())
    assert all(f["band"] == "stable" for f in rep["features"].values())
    assert rep["score"]["band"] == "stable" and rep["max_psi"] < 0.1
    assert rep["by_band"]["significant"] == []
    # Same bins and PSI as bentu.audit.metrics.psi on the raw columns.
    assert rep["features"]["loan_amount"]["psi"] == pytest.approx(psi(train["loan_amount"], new["loan_amount"]))


def test_shift_is_significant_and_categories_reported(frames):
    train, new = frames
    new = new.copy()
    new["monthly_income"] = new["monthly_income"] * 1.6
    new.loc[: len(new) // 3, "monthly_income"] = np.nan
    new["application_channel"] = new["application_channel"].replace({"branch": "wechat_mini_program"})
    rep = drift_report(_profile(train), new, new["true_pd"].to_numpy() * 2)
    income = rep["features"]["monthly_income"]
    assert income["band"] == "significant" and income["missing_new"] > 0.3
    channel = rep["features"]["application_channel"]
    assert channel["new_categories"] == ["wechat_mini_program"] and channel["missing_categories"] == ["branch"]
    assert rep["score"]["band"] == "significant"
    assert set(rep["by_band"]["significant"]) >= {"monthly_income", "application_channel"}


def test_bands():
    assert [psi_band(v) for v in (0.0, 0.099, 0.1, 0.249, 0.25, 3.0)] == [
        "stable", "stable", "moderate", "moderate", "significant", "significant"]


def test_missing_columns_are_named(frames):
    train, new = frames
    with pytest.raises(DataError) as err:
        drift_report(_profile(train), new.drop(columns=["loan_amount", "education"]), None)
    assert str(err.value) == ("The new data lacks column(s) 'education', 'loan_amount' of the drift profile's "
                              "features; supply rows that contain these columns.")


def test_profile_is_json(frames):
    train, _ = frames
    prof = _profile(train)
    assert json.loads(json.dumps(prof)) == prof
    assert prof["features"]["employment_type"]["kind"] == "categorical"
    assert len(prof["score"]["proportions"]) == 10


# --------------------------------------------------------------------------- CLI

@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, frames):
    """A run directory as `bentu run` writes it: model/model.onnx, preprocess.json, reference.json."""
    from bentu.compliance.audit_log import AuditLog
    from bentu.data.preprocess import TabularPreprocessor
    from bentu.inference.export import export_onnx
    from bentu.inference.predictor import Predictor
    from bentu.models.tabular import TabularMLP

    train, _ = frames
    cat = [c for c in FEATURES if c in CREDIT_SIM_ROLES["categorical"]]
    pre = TabularPreprocessor(numeric=[c for c in FEATURES if c not in cat], categorical=cat).fit(train)
    torch.manual_seed(0)
    model = TabularMLP(len(pre.feature_names_), [16]).eval()
    run = tmp_path_factory.mktemp("runs") / "credit-test"
    (run / "model").mkdir(parents=True)
    export_onnx(model, (torch.from_numpy(pre.transform(train[:32])),), run / "model" / "model.onnx")
    (run / "model" / "preprocess.json").write_text(json.dumps({**pre.to_dict(), "threshold": 0.2}), encoding="utf-8")
    scores = Predictor.from_run_dir(run).predict_proba(train)
    prof = reference_profile(train, features=FEATURES, scores=scores)
    (run / "model" / "reference.json").write_text(json.dumps(prof), encoding="utf-8")
    AuditLog(run / "audit.jsonl", root=run).complete()  # monitor accepts only complete runs
    return run


def _invoke(*args):
    from bentu.cli.monitor import monitor

    app = typer.Typer()
    app.command()(monitor)
    return CliRunner().invoke(app, [str(a) for a in args])


def test_monitor_stable_exits_zero(run_dir, frames, tmp_path):
    _, new = frames
    data = tmp_path / "new.csv"
    new.to_csv(data, index=False)
    res = _invoke(run_dir, data, "--out", tmp_path / "drift.html", "--lang", "en")
    assert res.exit_code == 0, res.output
    assert "All PSI below 0.25" in res.output and "model score" in res.output
    assert "<table>" in (tmp_path / "drift.html").read_text(encoding="utf-8")


def test_monitor_drift_exits_one_with_json(run_dir, frames, tmp_path):
    _, new = frames
    shifted = new.assign(debt_to_income=new["debt_to_income"] + 0.3)
    data = tmp_path / "shifted.csv"
    shifted.to_csv(data, index=False)
    res = _invoke(run_dir, data, "--format", "json", "--threshold", "0.25", "--out", tmp_path / "drift.json")
    assert res.exit_code == 1
    report = json.loads(res.output)
    assert "debt_to_income" in report["crossed"] and report["threshold"] == 0.25
    assert report["features"]["debt_to_income"]["band"] == "significant"
    assert json.loads((tmp_path / "drift.json").read_text(encoding="utf-8"))["crossed"] == report["crossed"]


def test_monitor_bad_input_exits_two(run_dir, frames, tmp_path):
    _, new = frames
    data = tmp_path / "partial.csv"
    new.drop(columns=["loan_amount"]).to_csv(data, index=False)
    res = _invoke(run_dir, data)
    assert res.exit_code == 2
    assert "lacks column(s) 'loan_amount'" in res.output and "Traceback" not in res.output
    res = _invoke(tmp_path / "no-such-run", data, "--lang", "zh")
    assert res.exit_code == 2 and "不存在" in res.output
    res = _invoke(run_dir, tmp_path / "absent.csv")
    assert res.exit_code == 2 and f"New data file {tmp_path / 'absent.csv'} does not exist" in res.output
    res = _invoke(run_dir, data, "--format", "xml")
    assert res.exit_code == 2 and "--format must be 'table' or 'json'. Got 'xml' instead." in res.output
