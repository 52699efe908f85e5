"""`bentu run learning …` through the command line, driver, compliance and report included."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from bentu.cli.app import app

from _learning_helpers import TINY


def test_bentu_run_learning_tiny(tmp_path):
    sets = TINY + ["learning.students=80", "learning.length=12", "learning.exercises=10", "learning.concepts=2",
                   "learning.challengers=[]", "learning.graph=false"]
    args = ["run", "learning", "--out", str(tmp_path / "run"), "--lang", "en", "--quiet"]
    for s in sets:
        args += ["--set", s]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    run_dir = tmp_path / "run"
    assert result.stdout.strip().splitlines()[-1] == str(run_dir)
    for name in ("recipe.yaml", "metrics.json", "data_profile.json", "privacy.json", "fairness.json", "report.html",
                 "compliance.json", "model/model.onnx", "model/preprocess.json", "explanations/mastery.json"):
        assert (run_dir / name).exists(), name
    compliance = json.loads((run_dir / "compliance.json").read_text())
    text = json.dumps(compliance)
    assert "pipl.art31.minors_guardian_consent" in text
    html = (run_dir / "report.html").read_text()
    assert "Mastery heat map" in html and "AUC by student group" in html and "Recommendation outcomes" in html


def test_mixup_is_refused_before_any_work(tmp_path):
    args = ["run", "learning", "--out", str(tmp_path / "run"), "--lang", "en", "--quiet", "--set", "train.mixup=0.2"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert "train.mixup does not apply to knowledge-tracing models (their batches are masked answer sequences). " \
           "Set train.mixup to 0." in result.output
    assert not (tmp_path / "run").exists()  # nothing half-written
