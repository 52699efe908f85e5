"""Issue 17 item 3 on the shipped credit recipe: k-anonymity turns `education` into "*" for
training, and a raw applicant (with a real education value) is scored and explained as training
saw it."""

import json
import os

import numpy as np
import pytest
from typer.testing import CliRunner

from bentu.cli.app import app
from bentu.datasets.credit_sim import simulate_credit
from bentu.inference import Predictor

runner = CliRunner()
SMALL = ["--set", "data.options.n_rows=3000", "--set", "train.epochs=2", "--set", "compress.int8=false",
         "--quiet", "--lang", "en"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    base = tmp_path_factory.mktemp("credit_parity")
    cwd = os.getcwd()
    os.chdir(base)
    try:
        result = runner.invoke(app, ["run", "credit", *SMALL, "--out", str(base / "run")])
    finally:
        os.chdir(cwd)
    assert result.exit_code == 0, result.output + result.stderr
    return base / "run"


def test_education_generalisation_is_part_of_the_preprocessing(run_dir):
    pre = json.loads((run_dir / "model" / "preprocess.json").read_text(encoding="utf-8"))
    assert pre["generalise"]["education"] == {"op": "star"}
    assert next(s for s in pre["categorical"] if s["name"] == "education")["categories"] == ["*"]


def test_raw_applicants_get_the_pipelines_scores_and_no_education_reason(run_dir):
    codes = json.loads((run_dir / "explanations" / "reason_codes.json").read_text(encoding="utf-8"))["rows"]
    raw = simulate_credit(n_rows=3000, seed=0).iloc[[r["source_row"] for r in codes]]
    assert raw["education"].nunique() >= 3  # real values, never seen as such in training
    want = 1 / (1 + np.exp(-np.array([r["logit"] for r in codes])))
    np.testing.assert_allclose(Predictor.from_run_dir(run_dir, "fp32").predict_proba(raw), want, atol=1e-6, rtol=0)
    # a constant input explains nothing: no reason code blames education
    assert not [x for r in codes for x in r["reasons_en"] if x["feature"] == "education"]
