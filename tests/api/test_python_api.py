"""The Python API: the README's "Python API" example runs as written; errors are the CLI's."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import bentu
from bentu.errors import DataError, RecipeError

ROOT = Path(__file__).resolve().parents[2]


def _readme_example() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Python API", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1, "the Python API section holds exactly one python block"
    return blocks[0]


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    base = tmp_path_factory.mktemp("api")
    cwd = os.getcwd()
    os.chdir(base)
    ns: dict = {}
    try:
        exec(compile(_readme_example(), "README.md:Python API", "exec"), ns)
    finally:
        os.chdir(cwd)
    return base, ns


def test_readme_example_runs_and_returns_a_run(example):
    base, ns = example
    run = ns["run"]
    assert isinstance(run, bentu.Run) and (base / "runs" / "notebook" / "report.html").is_file()
    assert run.dir == (base / "runs" / "notebook").resolve() and run.paths["report"] == run.dir / "report.html"
    assert 0.5 < run.metrics["test"]["auc"] <= 1
    assert repr(run) == f"Run('{run.dir}', test_auc={run.metrics['test']['auc']:.4f})"
    assert {"model_onnx", "model_weights", "model_spec", "preprocess", "model_card_zh", "audit_log", "compliance"} <= set(run.paths)


def test_readme_example_scores_and_explains(example):
    base, ns = example
    scores, why, applicants = ns["scores"], ns["why"], ns["applicants"]
    assert list(scores.columns) == ["score", "decision"] and scores.index.equals(applicants.index)
    assert scores["score"].between(0, 1).all()
    thr = ns["run"].predictor.threshold
    assert (scores["decision"] == scores["score"].map(lambda s: "decline_or_review" if s >= thr else "approve")).all()
    assert list(why.columns) == ["score", "decision", "reason_codes", "reasons", "factors"] and len(why) == 2
    assert all(isinstance(f, list) for f in why["factors"])
    assert any("违约" in r for r in why["reasons"])  # lang="zh" sentences
    os.chdir(base)
    try:
        again = bentu.load_run("runs/notebook")
        pd.testing.assert_frame_equal(again.predict(applicants), scores)
        assert again.recipe.name == "credit" and again.recipe.train.epochs == 3
    finally:
        os.chdir(ROOT)


def test_predict_equals_the_batch_scorer(example, tmp_path):
    base, ns = example
    from bentu.inference.batch import score_file

    run = bentu.load_run(base / "runs" / "notebook")
    ns["applicants"].to_csv(tmp_path / "a.csv", index=False)
    score_file(run.dir, tmp_path / "a.csv", tmp_path / "s.csv")
    assert pd.read_csv(tmp_path / "s.csv")["score"].round(6).tolist() == ns["scores"]["score"].round(6).tolist()


def test_predict_with_a_named_variant(example):
    from bentu.inference import Predictor

    base, ns = example
    run, applicants = ns["run"], ns["applicants"]
    want = Predictor.from_run_dir(run.dir, "fp32").predict_proba(applicants)
    np.testing.assert_allclose(run.predict(applicants, variant="fp32")["score"].to_numpy(), want, atol=1e-7)
    with pytest.raises(DataError, match=r"unknown model variant 'int4'; available: "):
        run.predict(applicants, variant="int4")


def test_load_run_on_a_folder_that_is_not_a_run(tmp_path):
    with pytest.raises(DataError) as e:
        bentu.load_run(tmp_path)
    assert str(e.value) == (f"{tmp_path} is not a run directory: it has no recipe.yaml and no model/ "
                            "(written by `bentu run`).")
    with pytest.raises(DataError, match=r"Run directory .*nope does not exist\."):
        bentu.load_run(tmp_path / "nope")


def test_run_errors_are_the_clis(tmp_path):
    with pytest.raises(RecipeError, match=r"unknown key 'train.epoch'\. Did you mean 'epochs'\?"):
        bentu.run("credit", overrides=["train.epoch=3"], out=tmp_path / "r")
    with pytest.raises(RecipeError, match=r"Recipe the recipe mapping is invalid: 'name': Field required"):
        bentu.run({"application": "credit"}, out=tmp_path / "r")
    with pytest.raises(RecipeError, match=r"Got int instead\."):
        bentu.run(3)
    assert not (tmp_path / "r").exists()


def test_import_bentu_is_cheap():
    code = ("import sys, bentu; bentu.run; bentu.load_run; bentu.Run; "
            "print(sorted(m for m in ('torch', 'pandas', 'numpy', 'onnxruntime', 'sklearn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    assert out.stdout.strip() == "[]"
    assert bentu.__all__ == ["__version__", "Run", "run", "load_run"]
