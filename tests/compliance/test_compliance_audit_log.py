"""The audit log is a hash chain; every kind of tampering is found and named."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from bentu.cli import audit as audit_cli
from bentu.compliance.audit_log import GENESIS_HASH, AuditLog, canonical_json, verify_run
from bentu.errors import DataError

PREV = (
    "prev_hash does not match the hash of line {prev} (a line was deleted, inserted or reordered, "
    "or this line was appended out of chain)"
)


def _build_run(run: Path) -> Path:
    """A run dir with 4 entries: load, train (writes model/), export, report."""
    run.mkdir()
    src = run.parent / "source.csv"
    src.write_text("a,b\n1,2\n")
    log = AuditLog(run / "audit.jsonl", root=run, operator="tester@host")
    (run / "data_profile.json").write_text('{"rows": 1}')
    log.append("load_data", params={"path": src, "rows": np.int64(1)}, inputs={"source": src},
               outputs={"profile": run / "data_profile.json"})
    (run / "model").mkdir()
    (run / "model" / "model.pt").write_bytes(b"weights-v1")
    (run / "model" / "preprocess.json").write_text("{}")
    log.append("train", params={"epochs": 2, "lr": np.float32(0.5)}, outputs={"model": run / "model"})
    (run / "model" / "model.onnx").write_bytes(b"onnx-v1")
    log.append("export", inputs={"model_dir": run / "model"},
               outputs={"onnx": run / "model" / "model.onnx"})
    (run / "metrics.json").write_text('{"test": {"auc": 0.8}}')
    log.append("evaluate", outputs={"metrics": "metrics.json"})
    return run


def _lines(run: Path) -> list[str]:
    return (run / "audit.jsonl").read_text().splitlines(keepends=True)


def _write(run: Path, lines: list[str]) -> None:
    (run / "audit.jsonl").write_text("".join(lines))


@pytest.fixture
def run(tmp_path: Path) -> Path:
    return _build_run(tmp_path / ".credit-tmp")


def test_entries_have_the_traceability_fields(run: Path) -> None:
    entries = [json.loads(x) for x in _lines(run)]
    first = entries[0]
    assert [e["seq"] for e in entries] == [1, 2, 3, 4]
    assert first["prev_hash"] == GENESIS_HASH
    assert all(b["prev_hash"] == a["hash"] for a, b in zip(entries, entries[1:]))
    assert first["operator"] == "tester@host"
    assert first["time"].endswith("+00:00")
    assert set(first["environment"]) == {"python", "bentu", "torch", "numpy", "platform"}
    assert first["params"] == {"path": str(run.parent / "source.csv"), "rows": 1}
    assert entries[1]["params"] == {"epochs": 2, "lr": 0.5}
    # files under the run dir are relative; outside it absolute
    assert first["outputs"]["profile"]["path"] == "data_profile.json"
    assert first["inputs"]["source"]["path"] == str((run.parent / "source.csv").resolve())
    assert entries[1]["outputs"]["model"]["files"] == 2
    assert entries[3]["outputs"]["metrics"]["path"] == "metrics.json"
    import hashlib

    body = {k: v for k, v in first.items() if k != "hash"}
    assert first["hash"] == hashlib.sha256(canonical_json(body)).hexdigest()


def test_intact_run_verifies_after_the_directory_is_renamed(run: Path) -> None:
    final = run.parent / "credit-20250101-000000"
    run.rename(final)
    report = verify_run(final)
    assert report.ok and report.entries == 4 and report.artifacts == 4
    assert report.problems == []


def test_log_continues_across_instances(run: Path) -> None:
    entry = AuditLog(run / "audit.jsonl").append("report")
    assert entry["seq"] == 5
    assert entry["prev_hash"] == json.loads(_lines(run)[3])["hash"]
    assert verify_run(run).ok


def test_edited_line_is_detected(run: Path) -> None:
    lines = _lines(run)
    lines[1] = lines[1].replace('"epochs":2', '"epochs":20')
    _write(run, lines)
    report = verify_run(run)
    assert not report.ok
    assert report.first == {
        "line": 2, "step": "train", "kind": "chain",
        "reason": "the entry's hash does not match its content (the line was edited)",
        "reason_zh": "该记录的哈希与内容不符（该行被编辑过）",
    }


def test_deleted_line_is_detected(run: Path) -> None:
    lines = _lines(run)
    del lines[1]
    _write(run, lines)
    assert verify_run(run).first == {
        "line": 2, "step": "export", "kind": "chain", "reason": PREV.format(prev=1),
        "reason_zh": "prev_hash 与第 1 行的哈希不符（有行被删除、插入或调换顺序，或该行不在哈希链上）",
    }


def test_deleted_first_line_is_detected(run: Path) -> None:
    _write(run, _lines(run)[1:])
    assert verify_run(run).first["reason"] == (
        "prev_hash of the first line is not 64 zeros (lines before it were deleted, or lines "
        "were reordered)"
    )


def test_reordered_lines_are_detected(run: Path) -> None:
    lines = _lines(run)
    lines[1], lines[2] = lines[2], lines[1]
    _write(run, lines)
    first = verify_run(run).first
    assert (first["line"], first["reason"]) == (2, PREV.format(prev=1))


def test_truncated_line_is_detected(run: Path) -> None:
    lines = _lines(run)
    lines[2] = lines[2][: len(lines[2]) // 2] + "\n"
    _write(run, lines)
    first = verify_run(run).first
    assert (first["line"], first["reason"]) == (
        3, "the line is not a complete JSON object (it was edited or truncated)"
    )


def test_truncated_file_end_is_detected(run: Path) -> None:
    data = (run / "audit.jsonl").read_bytes()
    (run / "audit.jsonl").write_bytes(data[:-40])
    first = verify_run(run).first
    assert (first["line"], first["reason"]) == (
        4, "the last line does not end with a newline (it was truncated or written partly)"
    )


def test_line_appended_out_of_chain_is_detected(tmp_path: Path, run: Path) -> None:
    # a well-formed entry from another log, with a valid hash of its own
    other = AuditLog(tmp_path / "other" / "audit.jsonl").append("deploy")
    _write(run, _lines(run) + [canonical_json(other).decode() + "\n"])
    first = verify_run(run).first
    assert (first["line"], first["reason"]) == (5, PREV.format(prev=4))


def test_forged_rehashed_line_breaks_the_next_link(run: Path) -> None:
    from bentu.compliance.audit_log import entry_digest

    lines = _lines(run)
    entry = json.loads(lines[1])
    entry["params"]["epochs"] = 200
    entry["hash"] = entry_digest(entry, None)
    lines[1] = canonical_json(entry).decode() + "\n"
    _write(run, lines)
    first = verify_run(run).first
    assert (first["line"], first["reason"]) == (3, PREV.format(prev=2))


def test_replaced_model_file_is_detected(run: Path) -> None:
    (run / "model" / "model.onnx").write_bytes(b"onnx-evil")
    report = verify_run(run)
    assert not report.ok
    first = report.first  # the file is named before the model/ directory that holds it
    assert first["line"] == 3
    assert first["reason"].startswith(
        "artifact 'model/model.onnx' (output 'onnx') no longer matches its recorded SHA-256"
    )


def test_file_changed_inside_a_recorded_directory_is_detected(run: Path) -> None:
    (run / "model" / "model.pt").write_bytes(b"weights-v2")
    first = verify_run(run).first
    # the last entry that mentions model/ is line 3 (export read it)
    assert first["line"] == 3
    assert first["reason"].startswith("artifact 'model' (input 'model_dir') no longer matches")


def test_deleted_artifact_is_detected(run: Path) -> None:
    (run / "metrics.json").unlink()
    first = verify_run(run).first
    assert first["line"] == 4
    assert first["reason"].startswith("artifact 'metrics.json' (output 'metrics') recorded with")
    assert first["reason"].endswith("is missing")


def test_append_refuses_missing_paths_and_unserialisable_params(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    with pytest.raises(DataError) as err:
        log.append("load", inputs={"data": "credit-sim"})
    assert str(err.value) == (
        "audit log: inputs 'data' is 'credit-sim', which does not exist; record only files or "
        "directories (put other values in params)."
    )
    with pytest.raises(DataError, match="parameter 'params.fn' has type function"):
        log.append("load", params={"fn": lambda: 1})
    assert not (tmp_path / "audit.jsonl").exists()


# ------------------------------------------------------------------------------------ CLI


def _invoke(*args: str):
    root = typer.Typer()
    root.add_typer(audit_cli.app, name="audit")
    return CliRunner().invoke(root, ["audit", "verify", *args])


def test_cli_ok_only_once_complete(run: Path) -> None:
    result = _invoke(str(run), "--lang", "en")
    assert result.exit_code == 1, result.output
    assert " ".join(result.output.split()) == (
        f"INCOMPLETE: {run / 'audit.jsonl'}: the run is incomplete: audit.jsonl has no 'complete' entry "
        "(the run was interrupted or killed, is still running, or the log's tail was cut)"
    )
    entry = AuditLog(run / "audit.jsonl").complete()
    assert sorted(entry["outputs"]) == ["data_profile.json", "metrics.json", "model/model.onnx",
                                        "model/model.pt", "model/preprocess.json"]
    result = _invoke(str(run), "--lang", "en")
    assert result.exit_code == 0, result.output
    assert "OK:" in result.output and "5 entries, hash chain intact, 6 artifacts" in result.output
    assert "integrity: unkeyed — detects accidents, not forgery" in result.output
    assert f"head: {entry['hash']}" in result.output


def test_cli_names_the_first_broken_entry(run: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = _lines(run)
    del lines[2]
    _write(run, lines)
    result = _invoke(str(run))
    assert result.exit_code == 1
    assert f"line 3 (step evaluate): {PREV.format(prev=2)}" in " ".join(result.output.split())
    monkeypatch.setenv("BENTU_LANG", "zh")
    result = _invoke(str(run))
    assert result.exit_code == 1 and "第 3 行" in result.output


def test_cli_missing_run_dir_exits_2(tmp_path: Path) -> None:
    result = _invoke(str(tmp_path / "nope"), "--lang", "en")
    assert result.exit_code == 2
    assert "run directory" in result.output and "does not exist" in result.output
    result = _invoke(str(tmp_path), "--lang", "en")
    assert result.exit_code == 2 and "has no audit log" in result.output


def test_head_and_refusal_to_append_after_a_partial_line(run: Path) -> None:
    log = AuditLog(run / "audit.jsonl")
    seq, head = log.head
    assert seq == 4 and head == json.loads(_lines(run)[-1])["hash"]
    data = (run / "audit.jsonl").read_bytes()
    (run / "audit.jsonl").write_bytes(data[:-10])
    with pytest.raises(DataError, match="the last line is incomplete; run 'bentu audit verify"):
        log.append("report")
    assert (run / "audit.jsonl").read_bytes() == data[:-10]  # nothing appended


def test_directory_hash_is_the_sha256sum_manifest(run: Path) -> None:
    import hashlib

    from bentu.compliance.audit_log import sha256_file, sha256_path

    files = sorted(p for p in (run / "model").rglob("*") if p.is_file())
    manifest = "".join(f"{sha256_file(p)}  {p.relative_to(run / 'model').as_posix()}\n" for p in files)
    assert sha256_path(run / "model") == (hashlib.sha256(manifest.encode()).hexdigest(), 3)
