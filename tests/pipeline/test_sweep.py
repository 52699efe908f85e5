"""`bentu sweep`: a grid of normal runs, ranked on validation AUC, never on test."""

import json

import pytest
from typer.testing import CliRunner

from bentu.cli.app import app
from bentu.errors import RecipeError
from bentu.pipeline.sweep import parse_grid

runner = CliRunner()


def test_grid_is_every_combination():
    assert parse_grid(["train.lr=0.001,0.003", "model.dropout=0,0.2"]) == [
        {"train.lr": 0.001, "model.dropout": 0}, {"train.lr": 0.001, "model.dropout": 0.2},
        {"train.lr": 0.003, "model.dropout": 0}, {"train.lr": 0.003, "model.dropout": 0.2}]


@pytest.mark.parametrize("spec, msg", [
    (["train.lr"], "--grid 'train.lr' must be KEY=V1,V2,… (e.g. --grid train.lr=0.001,0.003)."),
    (["a=1", "a=2"], "--grid names a more than once; give each key once with all its values."),
])
def test_bad_grid(spec, msg):
    with pytest.raises(RecipeError) as err:
        parse_grid(spec)
    assert str(err.value) == msg


def test_a_misspelt_key_fails_before_any_point_runs(tmp_path):
    out = tmp_path / "sw"
    result = runner.invoke(app, ["sweep", "credit", "--grid", "train.lrr=0.1,0.2", "--out", str(out), "--lang", "en"])
    assert result.exit_code == 2 and "train.lrr" in result.output
    assert not out.exists()


@pytest.mark.slow
def test_two_point_sweep_ranks_on_validation(tmp_path):
    out = tmp_path / "sw"
    result = runner.invoke(app, ["sweep", "credit", "--grid", "train.lr=0.0005,0.005", "--out", str(out),
                                 "--set", "data.options.n_rows=1500", "--set", "train.epochs=1", "--lang", "en"])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "sweep.json").read_text())
    vals = [p["val"]["auc"] for p in summary["points"]]
    assert summary["ranked_on"] == "val.auc" and vals == sorted(vals, reverse=True) and len(vals) == 2
    for p in summary["points"]:
        assert (out / p["dir"].split("/")[-1] / "report.html").is_file()
    assert "Ranking on validation AUC" in (out / "summary.html").read_text()
