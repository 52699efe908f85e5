"""Bad input to `bentu run`: one clear paragraph on stderr, exit code 2, nothing left behind."""

import os

import pytest
from typer.testing import CliRunner

from bentu.cli.app import app

runner = CliRunner()


def _run(tmp_path, *args):
    os.chdir(tmp_path)  # runs/ would be created here
    result = runner.invoke(app, ["run", *args, "--quiet", "--lang", "en"])
    leftovers = [p.name for p in tmp_path.iterdir() if p.name not in ("data.csv", "r.yaml", "empty.csv", "bad.csv")]
    return result, leftovers


def _recipe(tmp_path, body: str) -> str:
    p = tmp_path / "r.yaml"
    p.write_text(body, encoding="utf-8")
    return str(p)


def _assert_clean_error(result, leftovers, text):
    assert result.exit_code == 2, result.output
    assert text in result.stderr
    assert "Traceback" not in result.output + result.stderr
    assert leftovers == []


def test_unknown_recipe(tmp_path):
    r, left = _run(tmp_path, "credi")
    _assert_clean_error(r, left, "Error: Unknown recipe 'credi'. Did you mean 'credit'")


def test_misspelt_recipe_key(tmp_path):
    r, left = _run(tmp_path, _recipe(tmp_path, "name: x\ndata: {dataset: credit-sim, taget: default}\n"))
    _assert_clean_error(r, left, "unknown key 'data.taget'. Did you mean 'target'?")


def test_wrong_set_type(tmp_path):
    r, left = _run(tmp_path, "credit", "--set", "train.lr=fast")
    _assert_clean_error(r, left, "'train.lr': Input should be a valid number")


def test_missing_data_file(tmp_path):
    r, left = _run(tmp_path, _recipe(tmp_path, "name: x\ndata: {path: nowhere.csv, target: y}\n"), "--data", str(tmp_path))
    _assert_clean_error(r, left, "does not exist")
    assert "nowhere.csv" in r.stderr


def test_missing_uci_data_names_path_and_how_to_get_it(tmp_path):
    empty = tmp_path / "empty_root"
    empty.mkdir()
    os.chdir(tmp_path)
    r = runner.invoke(app, ["run", "credit-uci", "--data", str(empty), "--quiet", "--lang", "en"])
    assert r.exit_code == 2
    assert f"Data file {empty}/uci_default_credit/UCI_Credit_Card.csv.gz not found." in r.stderr
    assert "UCI Machine Learning Repository" in r.stderr
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_missing_target_column(tmp_path):
    (tmp_path / "data.csv").write_text("a,b\n1,0\n2,1\n3,0\n")
    r, left = _run(tmp_path, _recipe(tmp_path, "name: x\ndata: {path: data.csv, target: y}\n"), "--data", str(tmp_path))
    _assert_clean_error(r, left, "column(s) 'y' named in data.target not found.")
    assert "Columns in the file: a, b." in r.stderr


def test_non_binary_target(tmp_path):
    (tmp_path / "data.csv").write_text("a,y\n" + "".join(f"{i},{i % 3}\n" for i in range(30)))
    r, left = _run(tmp_path, _recipe(tmp_path, "name: x\ndata: {path: data.csv, target: y}\n"), "--data", str(tmp_path))
    _assert_clean_error(r, left, "target column 'y' must be binary (0/1) with both classes present; found 3 distinct value(s): 0, 1, 2.")


def test_empty_file(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    r, left = _run(tmp_path, _recipe(tmp_path, "name: x\ndata: {path: empty.csv, target: y}\n"), "--data", str(tmp_path))
    _assert_clean_error(r, left, "empty.csv is empty.")


def test_malformed_row(tmp_path):
    (tmp_path / "bad.csv").write_text("a,y\n1,0\n2,1,9\n3,0\n")
    r, left = _run(tmp_path, _recipe(tmp_path, "name: x\ndata: {path: bad.csv, target: y}\n"), "--data", str(tmp_path))
    _assert_clean_error(r, left, "bad.csv has a malformed row at line 3: expected 2 fields, found 3.")


def test_out_refuses_non_empty_directory(tmp_path):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    os.chdir(tmp_path)
    r = runner.invoke(app, ["run", "credit", "--out", str(out), "--quiet", "--lang", "en"])
    assert r.exit_code == 2
    assert f"Output directory {out} already exists and is not empty; bentu never overwrites a run." in r.stderr
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_chinese_error_message(tmp_path):
    os.chdir(tmp_path)
    r = runner.invoke(app, ["run", "credi", "--quiet", "--lang", "zh"])
    assert r.exit_code == 2 and "错误: 未知配方 'credi'" in r.stderr
