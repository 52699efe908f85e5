"""Server hygiene (issue 18 item 5): no docs page that loads scripts or fonts from a CDN, no data
values in the published schema, the API key checked before the body is read, HEAD wherever GET
works, and a clear error for a bad or busy port."""

from __future__ import annotations

import asyncio
import json
import socket

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from bentu.cli.app import app as cli
from bentu.inference.serve import add_key, create_app

runner = CliRunner()


def _categories(run_dir) -> list[str]:
    pre = json.loads((run_dir / "model" / "preprocess.json").read_text(encoding="utf-8"))
    cats = [c for s in pre["categorical"] for c in s["categories"] if c != "__missing__"]
    assert len(cats) >= 5
    return cats


def test_no_docs_pages_and_no_data_values_in_the_schema(run_dir, tmp_path):
    cats = _categories(run_dir)
    with TestClient(create_app(run_dir, decision_log=tmp_path / "d.jsonl")) as c:
        for path in ("/docs", "/redoc", "/docs/oauth2-redirect"):
            assert c.get(path).status_code == 404, path
        spec = c.get("/openapi.json")
        public_model = c.get("/v1/model").json()
    assert spec.status_code == 200
    text = spec.text
    assert "enum" not in text and "http://" not in text and "https://" not in text
    assert [cat for cat in cats if json.dumps(cat) in text or f"e.g. {cat}" in text] == []
    # without a key configured, /v1/model is public too: it names the inputs, not their levels
    assert all("categories" not in f or f["categories"] is None for f in public_model["input_schema"])


def test_category_levels_only_behind_the_key(run_dir, tmp_path):
    keys = tmp_path / "keys.txt"
    key = add_key(keys)
    with TestClient(create_app(run_dir, api_keys_file=keys, decision_log=tmp_path / "d.jsonl")) as c:
        assert c.get("/v1/model").status_code == 401
        body = c.get("/v1/model", headers={"Authorization": f"Bearer {key}"}).json()
    got = [cat for f in body["input_schema"] for cat in (f.get("categories") or []) if cat != "__missing__"]
    assert got == _categories(run_dir)


def _asgi_post(app, path: str, headers: list[tuple[bytes, bytes]]) -> tuple[int, bytes, bool]:
    """POST through the ASGI app with a body that records whether anyone read it."""
    read = False
    sent: list[dict] = []

    async def receive():
        nonlocal read
        read = True
        return {"type": "http.request", "body": b'{"records": [not json', "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"host", b"testserver"), (b"content-type", b"application/json"),
                         (b"content-length", b"21"), *headers], "client": ("127.0.0.1", 1), "server": ("testserver", 80)}
    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], body, read


def test_the_key_is_checked_before_the_body_is_read(run_dir, tmp_path):
    keys = tmp_path / "keys.txt"
    key = add_key(keys)
    application = create_app(run_dir, api_keys_file=keys, decision_log=tmp_path / "d.jsonl")
    for headers in ([], [(b"authorization", b"Bearer wrong")], [(b"authorization", key.encode())]):
        status, body, read = _asgi_post(application, "/v1/predict", headers)
        assert (status, read) == (401, False)
        assert json.loads(body)["error"]["code"] == "unauthorized"
    # with the key the body is read, and its malformed JSON is the answer
    status, body, read = _asgi_post(application, "/v1/predict", [(b"authorization", f"Bearer {key}".encode())])
    assert (status, read) == (422, True)
    with TestClient(application) as c:
        r = c.post("/v1/explain", content=b"{broken", headers={"Content-Type": "application/json"})
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer"


def test_head_works_wherever_get_does(run_dir, tmp_path):
    keys = tmp_path / "keys.txt"
    auth = {"Authorization": f"Bearer {add_key(keys)}"}
    with TestClient(create_app(run_dir, api_keys_file=keys, decision_log=tmp_path / "d.jsonl")) as c:
        for path in ("/healthz", "/readyz", "/v1/model", "/openapi.json"):
            get, head = c.get(path, headers=auth), c.head(path, headers=auth)
            assert (head.status_code, head.content) == (200, b""), path
            assert head.headers["content-length"] == get.headers["content-length"] == str(len(get.content))
            assert head.headers["content-type"] == get.headers["content-type"]
        assert c.head("/v1/model").status_code == 401 and c.head("/v1/model").content == b""
        assert c.head("/nowhere").status_code == 404


@pytest.mark.parametrize("port", ["0", "70000", "-1"])
def test_an_out_of_range_port_is_a_clear_error(run_dir, port):
    r = runner.invoke(cli, ["serve", str(run_dir), "--port", port, "--lang", "en"])
    assert r.exit_code == 2
    assert " ".join(r.stderr.split()) == f"Error: --port must be between 1 and 65535. Got {port} instead."
    r = runner.invoke(cli, ["serve", str(run_dir), "--port", port, "--lang", "zh"])
    assert r.exit_code == 2 and " ".join(r.stderr.split()) == f"错误: --port 必须在 1 到 65535 之间，实际为 {port}。"


def test_a_busy_port_is_a_clear_error(run_dir):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        r = runner.invoke(cli, ["serve", str(run_dir), "--port", str(port), "--lang", "en"])
        zh = runner.invoke(cli, ["serve", str(run_dir), "--port", str(port), "--lang", "zh"])
    assert r.exit_code == 2 and zh.exit_code == 2
    assert " ".join(r.stderr.split()) == (
        f"Error: Port {port} on 127.0.0.1 is already in use by another program; stop it or choose another --port.")
    assert " ".join(zh.stderr.split()) == f"错误: 127.0.0.1 上的端口 {port} 已被其他程序占用；请停止该程序或换一个 --port。"
