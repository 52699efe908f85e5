"""`bentu keys new`, `bentu compress`, and `bentu serve` refusing a bad run directory."""

from __future__ import annotations

import json

import typer
from typer.testing import CliRunner

from bentu.cli.compress import compress
from bentu.cli.keys import app as keys_app
from bentu.cli.serve import serve
from bentu.compliance.audit_log import verify_run
from bentu.inference.serve import hash_key

runner = CliRunner()


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("serve")(serve)
    app.command("compress")(compress)
    app.add_typer(keys_app, name="keys")
    return app


def test_keys_new_prints_the_key_once_and_stores_only_its_hash(tmp_path):
    path = tmp_path / "keys.txt"
    first = runner.invoke(_app(), ["keys", "new", str(path)])
    second = runner.invoke(_app(), ["keys", "new", str(path)])
    assert first.exit_code == 0 and second.exit_code == 0
    k1, k2 = first.stdout.strip().splitlines()[-1], second.stdout.strip().splitlines()[-1]
    assert k1 != k2 and k1.startswith("bentu_")
    assert path.read_text().splitlines() == [hash_key(k1), hash_key(k2)]
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_keys_new_refuses_a_file_that_is_not_a_keys_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("my secret key\n")
    r = runner.invoke(_app(), ["keys", "new", str(path)])
    assert r.exit_code == 2
    assert "line 1: expected a 64-character hex SHA-256" in r.stderr


def test_serve_refuses_a_run_without_a_model(tmp_path):
    r = runner.invoke(_app(), ["serve", str(tmp_path)])
    assert r.exit_code == 2
    assert f"{tmp_path} holds no model: expected model/model.onnx and model/preprocess.json" in r.stderr


def test_serve_refuses_a_tampered_run(run_dir):
    (run_dir / "model" / "preprocess.json").write_text(
        (run_dir / "model" / "preprocess.json").read_text().replace('"threshold": 0.3', '"threshold": 0.9'))
    r = runner.invoke(_app(), ["serve", str(run_dir)])
    assert r.exit_code == 2
    assert "its files fail their recorded checksums" in r.stderr and "model/preprocess.json" in r.stderr


def test_compress_command_writes_compression_json_and_logs_it(run_dir):
    r = runner.invoke(_app(), ["compress", str(run_dir), "--data", str(run_dir / "holdout.csv"), "--format", "json"])
    assert r.exit_code == 0, r.output
    result = json.loads((run_dir / "compression.json").read_text())
    assert set(result["variants"]) == {"fp32", "int8"} and result["chosen"] in result["variants"]
    assert json.loads(r.stdout)["chosen"] == result["chosen"]
    report = verify_run(run_dir)
    assert report.ok
    last = json.loads((run_dir / "audit.jsonl").read_text().splitlines()[-1])
    assert last["step"] == "compress" and "model_int8" in last["outputs"]


def test_compress_command_explains_a_bad_data_file(run_dir, tmp_path):
    bad = tmp_path / "rows.csv"
    bad.write_text("income,age\n1,2\n")
    r = runner.invoke(_app(), ["compress", str(run_dir), "--data", str(bad)])
    assert r.exit_code == 2
    assert "no target column 'default'" in r.stderr
