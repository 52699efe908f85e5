"""The scoring service: answers, errors, API keys, PII, decision log, integrity checks."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
from fastapi.testclient import TestClient

from bentu.errors import BentuError, DataError
from bentu.inference.predictor import Predictor
from bentu.inference.serve import add_key, create_app, verify_decision_log
from bentu.inference.serve._inputs import TabularEncoder

from _inference_runs import synthetic_credit

ID_CARD = "11010519491231002X"  # a valid check digit: detected as CN_ID_CARD
PHONE = "13812345678"


def records(n: int = 3, seed: int = 1) -> list[dict]:
    df = synthetic_credit(max(n, 10), seed=seed).drop(columns=["default"]).head(n)
    return [{k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()} for r in df.to_dict("records")]


@pytest.fixture()
def client(run_dir):
    with TestClient(create_app(run_dir)) as c:
        yield c


def test_predict_returns_scores_decisions_and_request_id(client, run_dir):
    recs = records(5)
    r = client.post("/v1/predict", json={"records": recs})
    assert r.status_code == 200
    body = r.json()
    assert len(body["request_id"]) == 32 and r.headers["X-Request-ID"] == body["request_id"]
    assert body["model"]["variant"] == "fp32" and len(body["model"]["sha256"]) == 64
    want = Predictor.from_run_dir(run_dir).predict_proba(recs)
    got = np.array([p["score"] for p in body["predictions"]])
    np.testing.assert_allclose(got, want, atol=1e-6)
    for p in body["predictions"]:
        assert p["decision"] == ("decline_or_review" if p["score"] >= body["threshold"] else "approve")


def test_encoder_matches_the_saved_preprocessing(run_dir):
    pred = Predictor.from_run_dir(run_dir)
    recs = records(50, seed=3)
    recs[0]["income"] = None
    recs[1]["province"] = "西藏"  # unseen category -> __other__
    recs[2]["employment"] = None
    got, _ = TabularEncoder(pred.preprocess)(recs)
    np.testing.assert_allclose(got["input"], pred.transform(recs), atol=1e-6)


@pytest.mark.parametrize("mutate, field, message", [
    (lambda r: r.pop("income"), "records[0].income", "Field required"),
    (lambda r: r.update(nickname="x"), "records[0].nickname", "Extra inputs are not permitted"),
    (lambda r: r.update(age="forty"), "records[0].age", "Input should be a valid number"),
    (lambda r: r.update(province=True), "records[0].province", "Input should be a valid string"),
])
def test_bad_fields_get_422_naming_the_field(client, mutate, field, message):
    rec = records(1)[0]
    mutate(rec)
    r = client.post("/v1/predict", json={"records": [rec]})
    assert r.status_code == 422
    fields = {f["field"]: f["message"] for f in r.json()["error"]["fields"]}
    assert field in fields and message in fields[field]
    assert client.post("/v1/predict", json={"records": records(1)}).status_code == 200  # still serving


def test_nan_and_infinity_are_rejected(client):
    body = json.dumps({"records": [{**records(1)[0], "age": 1.0}]}).replace('"age": 1.0', '"age": NaN')
    r = client.post("/v1/predict", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert r.json()["error"]["fields"] == [{"field": "records[0].age", "message": "Input should be a finite number"}]
    r = client.post("/v1/predict", content=body.replace("NaN", "Infinity"), headers={"content-type": "application/json"})
    assert r.status_code == 422
    big = {**records(1)[0], "income": 1e300}
    r = client.post("/v1/predict", json={"records": [big]})
    assert r.status_code == 422
    assert r.json()["error"]["message"].startswith("records[0].income: the value is out of range for this model")


def test_empty_and_malformed_bodies(client):
    assert client.post("/v1/predict", json={"records": []}).status_code == 422
    assert client.post("/v1/predict", json={"rows": records(1)}).status_code == 422
    r = client.post("/v1/predict", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"


def test_oversized_body_gets_413_and_the_server_keeps_serving(client):
    r = client.post("/v1/predict", content=b" " * (10 * 1024 * 1024), headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "payload_too_large"
    assert "1000000 bytes" in r.json()["error"]["message"]
    assert client.post("/v1/predict", json={"records": records(2)}).status_code == 200


def test_pii_never_appears_in_responses_or_logs(client, caplog):
    rec = {**records(1)[0], f"身份证{ID_CARD}": ID_CARD, "phone": PHONE}
    rec["province"] = f"张三 {PHONE}"  # free text in a category field is scored as 'other', never echoed
    with caplog.at_level(logging.DEBUG):
        bad = client.post("/v1/predict", json={"records": [rec]})
        good = client.post("/v1/predict", json={"records": [{k: rec[k] for k in records(1)[0]}]})
    assert bad.status_code == 422 and good.status_code == 200
    for text in (bad.text, good.text, caplog.text):
        assert ID_CARD not in text and PHONE not in text
    assert "records[0].身份证<CN_ID_CARD>" in bad.text
    assert "records[0].phone" in bad.text


def test_decision_log_is_hash_chained_and_flushed_on_shutdown(run_dir, tmp_path):
    path = tmp_path / "decisions.jsonl"
    with TestClient(create_app(run_dir, decision_log=path)) as c:
        r1 = c.post("/v1/predict", json={"records": records(3)}).json()
        c.post("/v1/predict", json={"records": records(2)})
        c.post("/v1/predict", json={"records": [{"bad": 1}]})  # rejected: no decision, no line
    lines = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 5 and verify_decision_log(path) == []
    first = lines[0]
    assert first["request_id"] == r1["request_id"] and first["model_sha256"] == r1["model"]["sha256"]
    assert first["output"]["decision"] == r1["predictions"][0]["decision"]
    assert set(first) >= {"time", "request_id", "model_sha256", "input_sha256", "output", "reason_codes", "prev_hash", "hash"}
    assert "income" not in path.read_text(encoding="utf-8")  # raw inputs are not written, only their hash
    # a restarted server continues the chain; an edited line is found
    with TestClient(create_app(run_dir, decision_log=path)) as c:
        c.post("/v1/predict", json={"records": records(1)})
    assert verify_decision_log(path) == [] and len(path.read_text().splitlines()) == 6
    text = path.read_text(encoding="utf-8").replace(first["output"]["decision"], "approve_x", 1)
    path.write_text(text, encoding="utf-8")
    assert verify_decision_log(path)[0].startswith("line 1: hash does not match")


def test_api_keys(run_dir, tmp_path):
    keys = tmp_path / "keys.txt"
    key = add_key(keys)
    assert key not in keys.read_text() and len(keys.read_text().strip()) == 64
    with TestClient(create_app(run_dir, api_keys_file=keys)) as c:
        body = {"records": records(1)}
        assert c.post("/v1/predict", json=body).status_code == 401
        r = c.post("/v1/predict", json=body, headers={"Authorization": "Bearer wrong"})
        assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer"
        assert r.json()["error"]["code"] == "unauthorized"
        assert c.get("/v1/model").status_code == 401
        assert c.post("/v1/predict", json=body, headers={"Authorization": f"Bearer {key}"}).status_code == 200
        assert c.get("/healthz").status_code == 200 and c.get("/readyz").json() == {"status": "ready"}


def test_model_endpoint_and_explain(client):
    info = client.get("/v1/model").json()
    assert info["kind"] == "tabular" and info["threshold"] == 0.3
    assert [f["name"] for f in info["input_schema"]][:2] == ["income", "loan_amount"]
    assert info["model_card"]["en"].startswith("# Model card")
    recs = records(2)
    r = client.post("/v1/explain", json={"records": recs})
    assert r.status_code == 200
    body = r.json()
    predicted = client.post("/v1/predict", json={"records": recs}).json()["predictions"]
    for exp, pred in zip(body["explanations"], predicted):
        assert exp["score"] == pytest.approx(pred["score"]) and exp["decision"] == pred["decision"]
        assert all(reason["contribution"] > 0 and reason["text"] and reason["text_zh"] for reason in exp["reasons"])
        assert [r["contribution"] for r in exp["reasons"]] == sorted((r["contribution"] for r in exp["reasons"]), reverse=True)
    assert "DeepSHAP" in body["method"]


def test_explain_is_501_without_an_explainer(run_dir, monkeypatch):
    import bentu.inference.serve._app as serve_app

    monkeypatch.setattr(serve_app, "_find_explainer", lambda *a: None)  # e.g. no bentu.audit.explain
    with TestClient(create_app(run_dir)) as c:
        r = c.post("/v1/explain", json={"records": records(1)})
        assert c.post("/v1/predict", json={"records": records(1)}).status_code == 200
    assert r.status_code == 501
    assert r.json()["error"]["message"].startswith("Reason codes are not available for this run")


def test_refuses_a_run_without_a_model(run_dir):
    (run_dir / "model" / "model.onnx").unlink()
    with pytest.raises(DataError, match="holds no model: expected model/model.onnx"):
        create_app(run_dir)


def test_refuses_a_tampered_model_file(run_dir):
    path = run_dir / "model" / "model.onnx"
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(BentuError) as err:
        create_app(run_dir)
    assert str(err.value).startswith(f"Refusing to serve {run_dir}: its files fail their recorded checksums")
    assert "model/model.onnx" in str(err.value)


def test_refuses_an_unrecorded_model_variant(run_dir):
    import shutil

    shutil.copy(run_dir / "model" / "model.onnx", run_dir / "model" / "model.int8.onnx")
    (run_dir / "compression.json").write_text(json.dumps(
        {"variants": {"fp32": {"file": "model/model.onnx"}, "int8": {"file": "model/model.int8.onnx"}}, "chosen": "int8"}))
    with pytest.raises(DataError, match="has no recorded checksum in audit.jsonl"):
        create_app(run_dir)


def test_lone_surrogates_get_422_not_500(client):
    body = json.dumps({"records": [{**records(1)[0], "province": "x"}]}).replace('"province": "x"', '"province": "\\ud800"')
    r = client.post("/v1/predict", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "records[0].province"
    extra = json.dumps({"records": [records(1)[0]]})[:-3] + ', "\\udcff": 1}]}'
    r = client.post("/v1/predict", content=extra, headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"


def test_the_app_survives_a_second_lifespan(run_dir, tmp_path):
    app = create_app(run_dir, decision_log=tmp_path / "d.jsonl")
    for _ in range(2):  # e.g. a test client per test, or a reload
        with TestClient(app) as c:
            assert c.get("/readyz").status_code == 200
            assert c.post("/v1/predict", json={"records": records(1)}).status_code == 200
    assert len((tmp_path / "d.jsonl").read_text().splitlines()) == 2 and verify_decision_log(tmp_path / "d.jsonl") == []
