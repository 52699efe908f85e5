"""A run is complete or it is nothing: SIGTERM/SIGKILL sent to a real `bentu run` at several points
leave nothing that `verify` or `serve` accepts; two runs racing for one name both keep their results."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from bentu.cli import audit as audit_cli
from bentu.cli.app import app as bentu_app
from bentu.pipeline import OWNER_FILE, clean_stale_partials

TINY = ["--set", "data.options.n_rows=1000", "--set", "train.epochs=1", "--quiet", "--lang", "en"]
LIGHT = [*TINY, "--set", "compress.int8=false", "--set", "audit.explain=null", "--set", "audit.fairness=false"]
MAIN = "from bentu.cli.app import main; main()"
# the same wall-clock second for every run started with it: both pick the same default name
FROZEN = (
    "import datetime as _d, types, bentu.pipeline as p\n"
    "class F(_d.datetime):\n"
    "    @classmethod\n"
    "    def now(cls, tz=None):\n"
    "        return cls(2026, 12, 4, 1, 2, 3, tzinfo=tz)\n"
    "p.dt = types.SimpleNamespace(datetime=F, timezone=_d.timezone)\n" + MAIN
)
runner = CliRunner()


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BENTU_AUDIT_KEY")}
    src = str(Path(__file__).resolve().parents[2] / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _start(args: list[str], cwd: Path, code: str = MAIN) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code, *args], cwd=cwd, env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _partials(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if ".partial-" in p.name)


def _wait_for(proc: subprocess.Popen, folder: Path, rel: str | None, timeout: float = 240) -> None:
    """Wait until the run's partial directory (and ``rel`` inside it) exists."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        assert proc.poll() is None, "the run ended before the signal: " + proc.stderr.read()[-2000:]
        for part in _partials(folder):
            if rel is None or (part / rel).exists():
                return
        time.sleep(0.02)
    proc.kill()
    raise AssertionError(f"{rel} never appeared")


def _verify(path: Path) -> tuple[int, str]:
    root = typer.Typer()
    root.add_typer(audit_cli.app, name="audit")
    r = runner.invoke(root, ["audit", "verify", str(path), "--lang", "en"])
    return r.exit_code, " ".join(r.output.split())


SLOW = pytest.mark.slow  # each waits for most of a real run (about 20 s idle, 50 s on a loaded machine)


def _paused(module: str, attr: str, marker: Path, *, swallow: bool) -> str:
    """The CLI, with ``module.attr`` made to stop on entry: it writes ``marker`` and sleeps, so the test's
    signal lands at exactly that step however fast the machine is. ``swallow`` catches the signal's
    exception and carries on, as a library with a bare ``except:`` would."""
    return (
        f"import importlib, time\nm = importlib.import_module({module!r})\norig = getattr(m, {attr!r})\n"
        "def paused(*a, **k):\n"
        f"    open({str(marker)!r}, 'w').close()\n"
        "    try:\n        time.sleep(120)\n"
        f"    except BaseException:\n        {'pass' if swallow else 'raise'}\n"
        "    return orig(*a, **k)\n"
        f"setattr(m, {attr!r}, paused)\n" + MAIN
    )


# where the signal lands: (module, function) the run is paused in, or a file the partial directory holds
COMPLIANCE = ("bentu.compliance.engine", "evaluate_compliance")  # fairness.json written, report not yet
FAIRNESS = ("bentu.audit.fairness", "fairness_audit")  # model/model.onnx exported


@pytest.mark.parametrize("sig, at, swallow", [
    pytest.param(signal.SIGTERM, None, False, id="term-early"),  # while loading: only the partial directory exists
    pytest.param(signal.SIGKILL, "audit.jsonl", False, id="kill-early"),  # the first record is written
    pytest.param(signal.SIGTERM, FAIRNESS, False, id="term-mid", marks=SLOW),
    pytest.param(signal.SIGTERM, COMPLIANCE, False, id="term-late", marks=SLOW),
    # a library catches the signal's exception and the run goes on to the end: it is still not published
    pytest.param(signal.SIGTERM, COMPLIANCE, True, id="term-swallowed", marks=SLOW),
    pytest.param(signal.SIGKILL, FAIRNESS, False, id="kill-mid", marks=SLOW),
    pytest.param(signal.SIGKILL, COMPLIANCE, False, id="kill-late", marks=SLOW),
])
def test_a_stopped_run_leaves_nothing_that_is_accepted(tmp_path, sig, at, swallow, monkeypatch) -> None:
    monkeypatch.delenv("BENTU_AUDIT_KEY", raising=False)
    monkeypatch.delenv("BENTU_AUDIT_KEY_FILE", raising=False)
    work = tmp_path / "work"
    work.mkdir()
    out = work / "credit-run"
    if isinstance(at, tuple):
        marker = tmp_path / "paused"
        proc = _start(["run", "credit", "--out", str(out), *TINY], work, _paused(*at, marker, swallow=swallow))
        end = time.monotonic() + 240
        while not marker.exists() and time.monotonic() < end:
            assert proc.poll() is None, "the run ended before the signal: " + proc.stderr.read()[-2000:]
            time.sleep(0.02)
        assert marker.exists(), f"the run never reached {at}"
    else:
        proc = _start(["run", "credit", "--out", str(out), *TINY], work)
        _wait_for(proc, work, at)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=180)
    assert not out.exists(), stderr[-2000:]
    if sig == signal.SIGTERM:
        assert proc.returncode == 143, stderr[-2000:]
        assert stderr.strip().splitlines()[-1] == "Interrupted (SIGTERM): no run directory was kept."
        assert "Traceback" not in stderr and stdout == ""
        assert os.listdir(work) == []  # the partial directory is gone too
        return
    assert proc.returncode == -signal.SIGKILL
    (partial,) = _partials(work)
    code, text = _verify(partial)
    assert code == 1, text
    assert text.startswith("INCOMPLETE:") or text.startswith("BROKEN:"), text
    r = runner.invoke(bentu_app, ["serve", str(partial), "--lang", "en"])
    assert r.exit_code == 2 and r.output.startswith("Error: ") and "Traceback" not in r.output
    if (partial / "model" / "preprocess.json").exists():  # a servable model, but no 'complete' record
        assert "the run is incomplete: audit.jsonl has no 'complete' entry" in " ".join(r.output.split())
    # the next run in this folder removes it: its owner (this host, the killed pid) is dead
    owner = json.loads((partial / OWNER_FILE).read_text(encoding="utf-8"))
    assert owner["pid"] == proc.pid and owner["host"] == socket.gethostname()
    assert clean_stale_partials(work) == [partial] and _partials(work) == []


def test_stale_partials_of_live_or_unknown_owners_are_kept(tmp_path) -> None:
    live = tmp_path / ".credit-x.partial-aaaa"
    live.mkdir()
    (live / OWNER_FILE).write_text(json.dumps({"pid": os.getppid(), "host": socket.gethostname()}))
    other_host = tmp_path / ".credit-y.partial-bbbb"
    other_host.mkdir()
    (other_host / OWNER_FILE).write_text(json.dumps({"pid": 2 ** 22 + 1, "host": "another-host"}))
    unknown = tmp_path / ".credit-z.partial-cccc"
    unknown.mkdir()
    assert clean_stale_partials(tmp_path) == []
    assert _partials(tmp_path) == [live, other_host, unknown]


def test_publish_never_replaces_a_finished_directory(tmp_path, caplog) -> None:
    from bentu.pipeline import _publish

    final = tmp_path / "credit-20261204-010203"
    final.mkdir()
    (final / "audit.jsonl").write_text("theirs\n")
    (tmp_path / "credit-20261204-010203-2").write_text("a file in the way")
    mine = tmp_path / ".mine.partial-1"
    mine.mkdir()
    (mine / "audit.jsonl").write_text("mine\n")
    with caplog.at_level("WARNING", logger="bentu.pipeline"):
        got = _publish(mine, final)
    assert got == tmp_path / "credit-20261204-010203-3" and (got / "audit.jsonl").read_text() == "mine\n"
    assert (final / "audit.jsonl").read_text() == "theirs\n" and not mine.exists()
    assert f"{final} already exists; this run was written to {got} instead" in caplog.text
    empty = tmp_path / "out-empty"
    empty.mkdir()
    again = tmp_path / ".again.partial-2"
    again.mkdir()
    assert _publish(again, empty) == empty  # an empty --out directory is the one thing replaced


@pytest.mark.slow  # two real runs side by side: about 60 s idle, over 2 min on a loaded machine
def test_two_runs_racing_for_one_name_both_keep_their_results(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("BENTU_AUDIT_KEY", raising=False)
    monkeypatch.delenv("BENTU_AUDIT_KEY_FILE", raising=False)
    procs = [_start(["run", "credit", *LIGHT], tmp_path, FROZEN) for _ in range(2)]
    results = [p.communicate(timeout=400) for p in procs]
    for p, (stdout, stderr) in zip(procs, results):
        assert p.returncode == 0, stderr[-3000:]
    made = sorted(stdout.strip().splitlines()[-1] for stdout, _ in results)
    assert made == ["runs/credit-20261204-010203", "runs/credit-20261204-010203-2"]
    assert "already exists; this run was written to runs/credit-20261204-010203-2 instead" in "".join(
        stderr for _, stderr in results)
    assert sorted(os.listdir(tmp_path / "runs")) == ["credit-20261204-010203", "credit-20261204-010203-2"]
    for rel in made:
        code, text = _verify(tmp_path / rel)
        assert code == 0, text
        assert "integrity: unkeyed — detects accidents, not forgery" in text
        assert json.loads((tmp_path / rel / "metrics.json").read_text())["test"]["auc"] >= 0
        report = (tmp_path / rel / "report.html").read_text(encoding="utf-8")
        assert "integrity: unkeyed — detects accidents, not forgery" in report
