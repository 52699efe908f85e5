"""The typed run directory: every artifact of real runs validates, docs and schemas are current."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bentu import rundir
from bentu.errors import DataError

DOCS = Path(__file__).resolve().parents[2] / "docs" / "run-directory.md"


def test_docs_are_generated_from_the_models() -> None:
    assert DOCS.read_text(encoding="utf-8") == rundir.render_docs(), (
        "docs/run-directory.md is stale: run `python -m bentu.rundir > docs/run-directory.md`")


def test_every_artifact_of_real_runs_validates(credit_run, csv_runs, learning_run, imaging_run) -> None:
    seen = set()
    for run, _ in (credit_run, csv_runs["good"], learning_run, imaging_run):
        for file, model in rundir.ARTIFACTS.items():
            if file == "audit.jsonl":
                assert rundir.read_audit_records(run)[0].step == "start"
            elif rundir.read_artifact(run, model, required=False) is not None:
                seen.add(file)
    assert seen == set(rundir.ARTIFACTS) - {"audit.jsonl"}


def test_schemas_are_json_schema_of_the_models() -> None:
    schema = rundir.json_schema("privacy.json")
    assert schema["title"] == "Privacy" and "k_anonymity" in schema["properties"]
    assert rundir.has_pointer("metrics.json#/dp/epsilon")
    assert rundir.has_pointer("privacy.json#/columns/mobile/operator/op")
    assert not rundir.has_pointer("privacy.json#/k_anonymity/target")
    assert not rundir.has_pointer("fairness.json#/attributes/sex/by_groups")


def test_an_artifact_in_the_wrong_shape_is_a_data_error(tmp_path: Path, credit_run) -> None:
    run, _ = credit_run
    privacy = json.loads((run / "privacy.json").read_text(encoding="utf-8"))
    privacy["columns"]["mobile"]["operator"] = "keep"  # the shape the old fixtures used
    with pytest.raises(DataError) as err:
        rundir.write_artifact(tmp_path, rundir.Privacy, privacy)
    assert str(err.value) == (
        f"Run artifact '{tmp_path / 'privacy.json'}' does not match its schema at field "
        "'columns/mobile/operator': Input should be a valid dictionary or instance of Operator.")
    assert not (tmp_path / "privacy.json").exists()
    (tmp_path / "privacy.json").write_text(json.dumps(privacy), encoding="utf-8")
    with pytest.raises(DataError, match="does not match its schema at field 'columns/mobile/operator'"):
        rundir.read_artifact(tmp_path, rundir.Privacy)
    with pytest.raises(DataError) as err:
        rundir.read_artifact(tmp_path, rundir.Metrics)
    assert str(err.value) == f"Run directory '{tmp_path}' has no metrics.json."


def test_write_then_read_round_trips_and_keeps_extra_fields(tmp_path: Path, credit_run) -> None:
    run, _ = credit_run
    metrics = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    metrics["dp"] = {"epsilon": 3.0, "delta": 1e-5}
    rundir.write_artifact(tmp_path, rundir.Metrics, metrics)
    assert json.loads((tmp_path / "metrics.json").read_text(encoding="utf-8")) == metrics
    back = rundir.read_artifact(tmp_path, rundir.Metrics)
    assert back.dp.epsilon == 3.0 and back.test.auc == metrics["test"]["auc"]
    assert back.model_extra["calibration"] == metrics["calibration"]
