"""A real keyed run rewritten by an attacker without the key: `verify` names the first bad record,
serve/compress/monitor refuse it; the untouched copy verifies; wrong and missing keys are told apart.
The server's decision log is checked the same way."""

from __future__ import annotations

import hashlib
import os
import hmac
import json
import shutil
from pathlib import Path

import pytest
import typer
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from bentu.cli import audit as audit_cli
from bentu.cli.app import app as bentu_app
from bentu.compliance.audit_log import (
    GENESIS_HASH,
    canonical_json,
    entry_digest,
    require_complete_run,
    sha256_path,
    verify_run,
)
from bentu.datasets.credit_sim import simulate_credit
from bentu.errors import ConfigError, DataError

KEY = "k3y-for-tests-0123456789abcdef"
KEY_ID = hashlib.sha256(KEY.encode()).hexdigest()[:8]
OTHER_KEY = "another-operators-key-fedcba9876543210"
TINY = ["--set", "data.options.n_rows=1000", "--set", "train.epochs=1", "--quiet", "--lang", "en"]
runner = CliRunner()

MAC = ("the entry's MAC does not match its content (the line was edited, or rewritten without the "
       "audit key)")


@pytest.fixture(scope="module")
def keyed_run(tmp_path_factory) -> Path:
    """A finished `bentu run credit` made with BENTU_AUDIT_KEY (pristine: tests copy it)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("BENTU_AUDIT_KEY", KEY)
    mp.delenv("BENTU_AUDIT_KEY_FILE", raising=False)
    out = tmp_path_factory.mktemp("keyed") / "credit-keyed"
    try:
        result = runner.invoke(bentu_app, ["run", "credit", "--out", str(out), *TINY])
    finally:
        mp.undo()
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1] == str(out)
    return out


@pytest.fixture()
def key(monkeypatch):
    monkeypatch.setenv("BENTU_AUDIT_KEY", KEY)
    monkeypatch.delenv("BENTU_AUDIT_KEY_FILE", raising=False)


@pytest.fixture()
def copy(keyed_run, tmp_path) -> Path:
    dst = tmp_path / keyed_run.name
    shutil.copytree(keyed_run, dst)
    return dst


def _entries(run: Path) -> list[dict]:
    return [json.loads(x) for x in (run / "audit.jsonl").read_text(encoding="utf-8").splitlines()]


def _line_of(run: Path, step: str) -> int:
    return next(i for i, e in enumerate(_entries(run), start=1) if e["step"] == step)


def _forge(run: Path, *, keep: int | None = None, downgrade: bool = False, attacker_key: bytes | None = None) -> int:
    """Rewrite audit.jsonl as an attacker without the key would: put the current SHA-256 of every
    recorded artifact into the records, then recompute the chain with plain SHA-256 (or under the
    attacker's own key) from the first record that changed. Returns that record's line number."""
    entries = _entries(run)[:keep]
    before = [canonical_json(e) for e in entries]
    for e in entries:
        for role in ("inputs", "outputs"):
            for rec in e[role].values():
                target = run / rec["path"]
                if not Path(rec["path"]).is_absolute() and target.exists():
                    rec["sha256"] = sha256_path(target)[0]
        if downgrade:
            e["integrity"] = "unkeyed"
            e.pop("key_id", None)
        if attacker_key is not None:
            e["key_id"] = hashlib.sha256(attacker_key).hexdigest()[:8]
    changed = [i for i, e in enumerate(entries) if canonical_json(e) != before[i]]
    first = changed[0] if changed else len(entries)
    prev = entries[first - 1]["hash"] if first else GENESIS_HASH
    for e in entries[first:]:
        e["prev_hash"] = prev
        e["hash"] = prev = entry_digest(e, attacker_key)  # plain SHA-256 when attacker_key is None
    (run / "audit.jsonl").write_text("".join(canonical_json(e).decode() + "\n" for e in entries), encoding="utf-8")
    return first + 1


def _verify(*args: str):
    root = typer.Typer()
    root.add_typer(audit_cli.app, name="audit")
    result = runner.invoke(root, ["audit", *args])
    return result.exit_code, " ".join(result.output.split())


def _refused_by_every_consumer(run: Path, why: str) -> None:
    for cmd in (["serve", str(run)], ["compress", str(run), "--data", str(run / "metrics.json")],
                ["monitor", str(run), str(run / "metrics.json")]):
        result = runner.invoke(bentu_app, [*cmd, "--lang", "en"])
        text = " ".join(result.output.split())
        assert result.exit_code == 2, (cmd, text)
        assert why in text and "Traceback" not in text, (cmd, text)


# ------------------------------------------------------------------------- the intact run


def test_untouched_keyed_run_verifies_and_names_its_key(keyed_run, key) -> None:
    entries = _entries(keyed_run)
    assert {e["integrity"] for e in entries} == {"hmac-sha256"} and {e["key_id"] for e in entries} == {KEY_ID}
    last = entries[-1]
    assert last["step"] == "complete"
    # the final record covers every file an attacker would edit, each by its own SHA-256
    for rel in ("metrics.json", "compliance.json", "report.html", "model/model.onnx", "model/model.safetensors",
                "model/preprocess.json", "model/reference.json", "recipe.yaml", "privacy.json"):
        assert last["outputs"][rel]["sha256"] == sha256_path(keyed_run / rel)[0], rel
    assert ".partial-owner.json" not in json.dumps(last) and not (keyed_run / ".partial-owner.json").exists()
    body = canonical_json({k: v for k, v in last.items() if k != "hash"})
    assert last["hash"] == hmac.new(KEY.encode(), body, hashlib.sha256).hexdigest()

    code, out = _verify("verify", str(keyed_run), "--lang", "en")
    assert code == 0, out
    assert f"integrity: HMAC-SHA256 under audit key id {KEY_ID}" in out and f"head: {last['hash']}" in out
    assert "unkeyed" not in out
    assert _verify("verify", str(keyed_run), "--expect-head", last["hash"].upper())[0] == 0
    code, out = _verify("verify", str(keyed_run), "--expect-head", "0" * 64, "--lang", "en")
    assert code == 1 and out.startswith(f"HEAD MISMATCH: the head digest is {last['hash']}, but --expect-head is {'0' * 64}")
    code, out = _verify("verify", str(keyed_run), "--expect-head", "abc", "--lang", "en")
    assert code == 2 and "--expect-head must be 64 hexadecimal digits (as printed after 'head:'). Got 'abc' instead." in out
    assert require_complete_run(keyed_run).head == last["hash"]
    report = (keyed_run / "report.html").read_text(encoding="utf-8")
    assert f"integrity: HMAC-SHA256 under audit key id {KEY_ID}" in report


def test_wrong_key_and_missing_key_are_told_apart_from_tampering(keyed_run, monkeypatch) -> None:
    monkeypatch.setenv("BENTU_AUDIT_KEY", OTHER_KEY)
    code, out = _verify("verify", str(keyed_run), "--lang", "en")
    other_id = hashlib.sha256(OTHER_KEY.encode()).hexdigest()[:8]
    assert code == 1
    assert out.startswith(f"WRONG KEY: {keyed_run / 'audit.jsonl'} line 1 (step start): wrong key: the entry was "
                          f"authenticated with audit key id {KEY_ID}, but the key set now has id {other_id}")
    code, out = _verify("verify", str(keyed_run), "--lang", "zh")
    assert code == 1 and "密钥不符" in out and "密钥错误" in out
    monkeypatch.delenv("BENTU_AUDIT_KEY")
    code, out = _verify("verify", str(keyed_run), "--lang", "en")
    assert code == 1 and f"line 1 (step start): the entry is authenticated with audit key id {KEY_ID}, but no key is set" in out
    with pytest.raises(DataError, match="but no key is set"):
        require_complete_run(keyed_run)


def test_key_from_a_file_and_bad_key_settings(keyed_run, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("BENTU_AUDIT_KEY", raising=False)
    (tmp_path / "audit.key").write_text(KEY + "\n", encoding="utf-8")
    monkeypatch.setenv("BENTU_AUDIT_KEY_FILE", str(tmp_path / "audit.key"))
    assert _verify("verify", str(keyed_run))[0] == 0
    monkeypatch.setenv("BENTU_AUDIT_KEY", KEY)
    code, out = _verify("verify", str(keyed_run), "--lang", "en")
    assert code == 2 and ("Error: both BENTU_AUDIT_KEY and BENTU_AUDIT_KEY_FILE are set; set only one of them "
                          "(the key itself, or the file holding it).") == out
    monkeypatch.delenv("BENTU_AUDIT_KEY")
    monkeypatch.setenv("BENTU_AUDIT_KEY_FILE", str(tmp_path / "absent.key"))
    with pytest.raises(ConfigError, match=r"BENTU_AUDIT_KEY_FILE is '.*absent.key', which cannot be read"):
        verify_run(keyed_run)
    monkeypatch.delenv("BENTU_AUDIT_KEY_FILE")
    monkeypatch.setenv("BENTU_AUDIT_KEY", "short")
    with pytest.raises(ConfigError, match="the audit key in BENTU_AUDIT_KEY has 5 bytes; it must have at least 16"):
        verify_run(keyed_run)


# ------------------------------------------------------------------------------- attacks


def test_edited_metrics_with_recomputed_hashes_fail(copy, key) -> None:
    metrics = json.loads((copy / "metrics.json").read_text(encoding="utf-8"))
    metrics["test"]["auc"] = 0.99
    (copy / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    line = _forge(copy)
    assert line == _line_of(copy, "evaluate")
    code, out = _verify("verify", str(copy), "--lang", "en")
    assert code == 1 and out.startswith(f"BROKEN: {copy / 'audit.jsonl'} line {line} (step evaluate): {MAC}")
    report = verify_run(copy)
    assert (report.first["line"], report.first["step"], report.first["kind"]) == (line, "evaluate", "chain")
    _refused_by_every_consumer(copy, f"audit.jsonl line {line}")


def test_swapped_model_with_recomputed_hashes_fails(copy, key) -> None:
    shutil.copyfile(copy / "model" / "model.int8.onnx", copy / "model" / "model.onnx")  # another genuine model
    line = _forge(copy)
    assert line == _line_of(copy, "export")
    code, out = _verify("verify", str(copy), "--lang", "en")
    assert code == 1 and f"line {line} (step export): {MAC}" in out
    _refused_by_every_consumer(copy, f"audit.jsonl line {line}")


def test_cut_tail_and_flipped_verdicts_fail(copy, key) -> None:
    compliance = json.loads((copy / "compliance.json").read_text(encoding="utf-8"))
    for v in compliance["verdicts"]:
        v["verdict"] = "pass"
    compliance["summary"] = {"pass": len(compliance["verdicts"]), "fail": 0, "total": len(compliance["verdicts"])}
    (copy / "compliance.json").write_text(json.dumps(compliance), encoding="utf-8")
    cut = _line_of(copy, "compliance")
    line = _forge(copy, keep=cut)  # everything after the compliance record is gone
    assert line == cut and _entries(copy)[-1]["step"] == "compliance"
    code, out = _verify("verify", str(copy), "--lang", "en")
    assert code == 1 and f"line {line} (step compliance): {MAC}" in out
    _refused_by_every_consumer(copy, f"audit.jsonl line {line}")


def test_only_cut_tail_is_an_incomplete_run(copy, key) -> None:
    lines = (copy / "audit.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    (copy / "audit.jsonl").write_text("".join(lines[:-1]), encoding="utf-8")  # drop the 'complete' record
    code, out = _verify("verify", str(copy), "--lang", "en")
    assert code == 1 and out == (f"INCOMPLETE: {copy / 'audit.jsonl'}: the run is incomplete: audit.jsonl has no "
                                 "'complete' entry (the run was interrupted or killed, is still running, or the "
                                 "log's tail was cut)")
    _refused_by_every_consumer(copy, "the run is incomplete: audit.jsonl has no 'complete' entry")


def test_log_downgraded_to_unkeyed_fails(copy, key) -> None:
    (copy / "metrics.json").write_text('{"test": {"auc": 0.99}}', encoding="utf-8")
    assert _forge(copy, downgrade=True) == 1  # every record rewritten as unkeyed
    code, out = _verify("verify", str(copy), "--lang", "en")
    assert code == 1 and "BROKEN:" in out
    assert "line 1 (step start): the entry is unkeyed although an audit key is set" in out


def test_log_rekeyed_by_the_attacker_fails(copy, key) -> None:
    (copy / "metrics.json").write_text('{"test": {"auc": 0.99}}', encoding="utf-8")
    attacker = b"the-attackers-own-key-000000000"
    line = _forge(copy, attacker_key=attacker)
    assert line == 1
    code, out = _verify("verify", str(copy), "--lang", "en")
    assert code == 1 and "WRONG KEY:" in out and "line 1 (step start): wrong key" in out


def test_partly_rekeyed_log_is_tampering(copy, key) -> None:
    metrics = json.loads((copy / "metrics.json").read_text(encoding="utf-8"))
    metrics["test"]["auc"] = 0.99
    (copy / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    entries = _entries(copy)
    n = _line_of(copy, "evaluate")
    attacker = b"the-attackers-own-key-000000000"
    prev = entries[n - 2]["hash"]
    for e in entries[n - 1:]:
        for rec in e["outputs"].values():
            if (copy / rec["path"]).exists():
                rec["sha256"] = sha256_path(copy / rec["path"])[0]
        e["key_id"], e["prev_hash"] = hashlib.sha256(attacker).hexdigest()[:8], prev
        e["hash"] = prev = entry_digest(e, attacker)
    (copy / "audit.jsonl").write_text("".join(canonical_json(e).decode() + "\n" for e in entries), encoding="utf-8")
    code, out = _verify("verify", str(copy), "--lang", "en")
    assert code == 1 and out.startswith(f"BROKEN: {copy / 'audit.jsonl'} line {n} (step evaluate): the entry was "
                                        f"authenticated with audit key id {hashlib.sha256(attacker).hexdigest()[:8]}, "
                                        f"but the log began with key id {KEY_ID}")


# -------------------------------------------------------------------------- decision log


def _records(run: Path, n: int) -> list[dict]:
    pre = json.loads((run / "model" / "preprocess.json").read_text(encoding="utf-8"))
    cols = [c["name"] for c in pre["numeric"] + pre["categorical"]]
    df = simulate_credit(n_rows=max(n, 50), seed=3)[cols].head(n)
    return [{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()} for r in df.to_dict("records")]


def _served(run: Path, log: Path, n: int = 4) -> list[dict]:
    from bentu.inference.serve import create_app

    recs = _records(run, n)
    with TestClient(create_app(run, decision_log=log)) as c:
        r = c.post("/v1/predict", json={"records": recs[:2]})
        assert r.status_code == 200, r.text
        assert c.post("/v1/predict", json={"records": recs[2:]}).status_code == 200
    return recs


def test_decision_log_is_keyed_and_its_forgeries_fail(copy, key, tmp_path, monkeypatch) -> None:
    log = tmp_path / "decisions.jsonl"
    recs = _served(copy, log)
    entries = [json.loads(x) for x in log.read_text(encoding="utf-8").splitlines()]
    assert len(entries) == 4 and {(e["integrity"], e["key_id"]) for e in entries} == {("hmac-sha256", KEY_ID)}
    # the input digest is an HMAC under the key: hashing candidate inputs without the key never finds it
    from bentu.inference.serve.decision_log import input_hash

    plain = {input_hash(r, None) for r in recs} | {hashlib.sha256(canonical_json(r)).hexdigest() for r in recs}
    assert len({e["input_sha256"] for e in entries}) == 4 and not plain & {e["input_sha256"] for e in entries}
    for rec in recs:
        assert input_hash(rec) == hmac.new(KEY.encode(), canonical_json(rec), hashlib.sha256).hexdigest()
    head = entries[-1]["hash"]
    code, out = _verify("verify-decisions", str(log), "--expect-head", head, "--lang", "en")
    assert code == 0, out
    assert out == (f"OK: {log} — 4 decisions, hash chain intact. integrity: HMAC-SHA256 under audit key id {KEY_ID} "
                   f"head: {head}")

    pristine = log.read_text(encoding="utf-8")
    # flip a decision and recompute the plain hashes from there on
    second = entries[1]
    second["output"]["decision"] = "approve" if second["output"]["decision"] != "approve" else "decline_or_review"
    prev = entries[0]["hash"]
    for e in entries[1:]:
        e["prev_hash"], e["hash"] = prev, entry_digest({**e, "prev_hash": prev}, None)
        prev = e["hash"]
    log.write_text("".join(canonical_json(e).decode() + "\n" for e in entries), encoding="utf-8")
    code, out = _verify("verify-decisions", str(log), "--lang", "en")
    assert code == 1 and out.startswith(f"BROKEN: {log} line 2 (request {second['request_id']}): {MAC}")
    from bentu.inference.serve import verify_decision_log

    assert verify_decision_log(log)[0].startswith("line 2: hash does not match the content")

    # cut the tail: the chain is intact, only the anchored head shows it
    log.write_text("".join(pristine.splitlines(keepends=True)[:3]), encoding="utf-8")
    assert _verify("verify-decisions", str(log))[0] == 0
    code, out = _verify("verify-decisions", str(log), "--expect-head", head, "--lang", "en")
    assert code == 1 and out.startswith("HEAD MISMATCH: the head digest is ")

    log.write_text(pristine, encoding="utf-8")
    monkeypatch.setenv("BENTU_AUDIT_KEY", OTHER_KEY)
    code, out = _verify("verify-decisions", str(log), "--lang", "en")
    assert code == 1 and out.startswith(f"WRONG KEY: {log} line 1 (request {entries[0]['request_id']}): wrong key")
    monkeypatch.delenv("BENTU_AUDIT_KEY")
    code, out = _verify("verify-decisions", str(log), "--lang", "en")
    assert code == 1 and "but no key is set" in out
    code, out = _verify("verify-decisions", str(tmp_path / "absent.jsonl"), "--lang", "en")
    assert code == 2 and out.startswith(f"Error: decision log '{tmp_path / 'absent.jsonl'}' cannot be read")


def test_a_server_does_not_continue_a_log_under_another_key(copy, key, tmp_path, monkeypatch) -> None:
    from bentu.inference.serve import DecisionLog

    log = tmp_path / "decisions.jsonl"
    DecisionLog(log).append_many([{"request_id": "r1", "output": {"decision": "approve"}}])
    monkeypatch.setenv("BENTU_AUDIT_KEY", OTHER_KEY)
    other_id = hashlib.sha256(OTHER_KEY.encode()).hexdigest()[:8]
    with pytest.raises(DataError) as err:
        DecisionLog(log)
    assert str(err.value) == (
        f"decision log {log} was written with integrity 'hmac-sha256 {KEY_ID}', but the server now has "
        f"'hmac-sha256 {other_id}'; set the same BENTU_AUDIT_KEY it was written with, or give a new "
        "--decision-log file.")


def test_run_with_an_unusable_key_fails_before_writing(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("BENTU_AUDIT_KEY", "short")
    monkeypatch.delenv("BENTU_AUDIT_KEY_FILE", raising=False)
    out = tmp_path / "runs" / "credit-x"
    result = runner.invoke(bentu_app, ["run", "credit", "--out", str(out), *TINY])
    assert result.exit_code == 2
    assert " ".join(result.output.split()) == (
        "Error: the audit key in BENTU_AUDIT_KEY has 5 bytes; it must have at least 16 (make one with: "
        "python -c \"import secrets; print(secrets.token_hex(32))\").")
    assert os.listdir(tmp_path) == []
