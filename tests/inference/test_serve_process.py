"""`bentu serve` as a real process on loopback: a 10 MB body, then graceful shutdown flushing the log."""

from __future__ import annotations

import http.client
import json
import signal
import socket
import subprocess
import sys
import time

from bentu.inference.serve import verify_decision_log

from _inference_runs import synthetic_credit

SERVE = "import sys, typer; from bentu.cli.serve import serve; typer.run(serve)"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _request(port: int, body: bytes) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", "/v1/predict", body=body, headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    data = json.loads(r.read())
    conn.close()
    return r.status, data


def test_live_server_rejects_10mb_keeps_serving_and_flushes_on_sigterm(run_dir, tmp_path):
    port, log = _port(), tmp_path / "decisions.jsonl"
    proc = subprocess.Popen([sys.executable, "-c", SERVE, str(run_dir), "--port", str(port), "--decision-log", str(log)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + 90
        while True:
            assert proc.poll() is None, proc.stdout.read()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/readyz")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                assert time.time() < deadline, "server did not start"
                time.sleep(0.3)
        status, body = _request(port, b'{"records": [' + b" " * (10 * 1024 * 1024) + b"]}")
        assert status == 413 and body["error"]["code"] == "payload_too_large"
        rec = synthetic_credit(5, seed=2).drop(columns=["default"]).iloc[0].to_dict()
        rec = {k: (None if isinstance(v, float) and v != v else v) for k, v in rec.items()}
        status, body = _request(port, json.dumps({"records": [rec, rec]}).encode())
        assert status == 200 and len(body["predictions"]) == 2
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode in (0, -signal.SIGTERM), out  # uvicorn re-raises the signal after a clean shutdown
    assert "decision log closed" in out and "Application shutdown complete" in out
    assert len(log.read_text().splitlines()) == 2 and verify_decision_log(log) == []
