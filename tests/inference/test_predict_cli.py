"""`bentu predict RUN_DIR IN OUT`: chunked batch scoring equal to `bentu serve`, atomic, never overwriting."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from bentu.cli.app import app
from bentu.inference.serve import create_app

from _inference_runs import synthetic_credit

runner = CliRunner()


def _rows(n: int, seed: int = 7) -> pd.DataFrame:
    return synthetic_credit(max(n, 10), seed=seed).drop(columns=["default"]).head(n).reset_index(drop=True)


def _records(df: pd.DataFrame) -> list[dict]:
    return [{k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()} for r in df.to_dict("records")]


def _predict(*args: str):
    return runner.invoke(app, ["predict", *map(str, args), "--quiet", "--lang", "en"])


def _one_line(text: str) -> str:
    return " ".join(text.split())


def test_scores_equal_bentu_serve_across_chunks_and_formats(run_dir, tmp_path):
    df = _rows(300)
    df["application_id"] = [f"A{i:04d}" for i in range(len(df))]
    src = tmp_path / "in.csv"
    df.to_csv(src, index=False)
    with TestClient(create_app(run_dir, decision_log=tmp_path / "decisions.jsonl")) as client:
        body = client.post("/v1/predict", json={"records": _records(df.drop(columns=["application_id"]))}).json()
    served = np.array([p["score"] for p in body["predictions"]])
    decisions = [p["decision"] for p in body["predictions"]]
    for out in ("out.csv", "out.parquet", "out.jsonl"):
        r = _predict(run_dir, src, tmp_path / out, "--chunk-rows", "64", "--keep", "application_id")
        assert r.exit_code == 0, r.output
        got = {"out.csv": pd.read_csv, "out.parquet": pd.read_parquet,
               "out.jsonl": lambda p: pd.read_json(p, lines=True)}[out](tmp_path / out)
        assert list(got.columns) == ["row", "application_id", "score", "decision"]
        assert got["row"].tolist() == list(range(300)) and got["application_id"].tolist() == df["application_id"].tolist()
        np.testing.assert_allclose(got["score"].to_numpy(), served, atol=1e-6)
        assert got["decision"].tolist() == decisions
    assert "Scored 300 rows in" in r.output


def test_parquet_and_jsonl_inputs_score_the_same(run_dir, tmp_path):
    df = _rows(50)
    df.to_csv(tmp_path / "a.csv", index=False)
    df.to_parquet(tmp_path / "a.parquet", index=False)
    df.to_json(tmp_path / "a.jsonl", orient="records", lines=True, force_ascii=False)
    scores = []
    for name in ("a.csv", "a.parquet", "a.jsonl"):
        assert _predict(run_dir, tmp_path / name, tmp_path / f"{name}.out.csv", "--chunk-rows", "16").exit_code == 0
        scores.append(pd.read_csv(tmp_path / f"{name}.out.csv")["score"].to_numpy())
    np.testing.assert_allclose(scores[1], scores[0], atol=1e-6)
    np.testing.assert_allclose(scores[2], scores[0], atol=1e-6)


def test_reason_codes_equal_bentu_serve_explain(run_dir, tmp_path):
    df = _rows(6, seed=11)
    df.to_csv(tmp_path / "in.csv", index=False)
    r = _predict(run_dir, tmp_path / "in.csv", tmp_path / "out.jsonl", "--reasons")
    assert r.exit_code == 0, r.output
    got = pd.read_json(tmp_path / "out.jsonl", lines=True)
    with TestClient(create_app(run_dir, decision_log=tmp_path / "decisions.jsonl")) as client:
        body = client.post("/v1/explain", json={"records": _records(df)}).json()
    want = ["|".join(x["code"] for x in e["reasons"]) for e in body["explanations"]]
    assert got["reason_codes"].tolist() == want and any(want)
    assert all(isinstance(t, str) and "odds" in t for t in got["reasons"] if t)


def test_existing_out_is_not_overwritten_without_force(run_dir, tmp_path):
    _rows(20).to_csv(tmp_path / "in.csv", index=False)
    out = tmp_path / "out.csv"
    out.write_text("keep me\n")
    r = _predict(run_dir, tmp_path / "in.csv", out)
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert f"OUT {out} already exists. Choose a new file, or pass --force to replace it." in _one_line(r.output)
    assert out.read_text() == "keep me\n"
    assert _predict(run_dir, tmp_path / "in.csv", out, "--force").exit_code == 0
    assert len(pd.read_csv(out)) == 20


def test_input_is_never_the_output_even_with_force(run_dir, tmp_path):
    src = tmp_path / "in.csv"
    _rows(20).to_csv(src, index=False)
    before = src.read_bytes()
    r = _predict(run_dir, src, src, "--force")
    assert r.exit_code == 2
    assert f"OUT {src} is the input file; bentu never overwrites its input. Choose another OUT." in _one_line(r.output)
    assert src.read_bytes() == before


def test_missing_model_column_fails_cleanly_and_leaves_no_file(run_dir, tmp_path):
    tmp_path = tmp_path / "work"
    tmp_path.mkdir()
    src = tmp_path / "in.csv"
    _rows(100).drop(columns=["income"]).to_csv(src, index=False)
    r = _predict(run_dir, src, tmp_path / "out.csv", "--chunk-rows", "30")
    assert r.exit_code == 2
    assert f"{src}: missing column(s) 'income' that the model was trained with." in _one_line(r.output)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]  # no OUT, no partial file


def test_failure_in_a_later_chunk_leaves_no_partial_output(run_dir, tmp_path):
    recs = _records(_rows(40))
    for i, rec in enumerate(recs[:30]):
        rec["application_id"] = f"A{i}"  # the last chunk of 10 has no application_id
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs), encoding="utf-8")
    r = _predict(run_dir, tmp_path / "in.jsonl", tmp_path / "out.csv", "--chunk-rows", "10", "--keep", "application_id")
    assert r.exit_code == 2 and f"{tmp_path / 'in.jsonl'}: --keep column(s) 'application_id' not found." in _one_line(r.output)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith((".out", "out"))]
    r = _predict(run_dir, tmp_path / "in.jsonl", tmp_path / "out.csv", "--chunk-rows", "50", "--keep", "application_id")
    assert r.exit_code == 0  # one chunk: records without the field get a missing value
    assert pd.read_csv(tmp_path / "out.csv")["application_id"].isna().sum() == 10


@pytest.mark.parametrize("name", ["in.xlsx", "missing.csv"])
def test_bad_input_paths(run_dir, tmp_path, name):
    src = tmp_path / name
    if name.endswith(".xlsx"):
        src.write_bytes(b"PK")
    r = _predict(run_dir, src, tmp_path / "out.csv")
    assert r.exit_code == 2
    want = (f"IN {src}: cannot tell the format; expected a .csv, .parquet or .jsonl file." if name.endswith(".xlsx")
            else f"IN {src} does not exist or is not a file.")
    assert want in _one_line(r.output)
