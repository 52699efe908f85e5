"""The gateway: PII never reaches upstream or the log, restored only for allowed callers; labels; limits; keys."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from llm_pii import planted_prompts
from llm_fakes import RecordingModel

from bentu.inference.serve.auth import add_key
from bentu.llm.gateway import create_gateway
from bentu.llm.labels import AIGC_FIELDS, EXPLICIT_LABEL


def _leaks(text: str, values: dict[str, str]) -> list[str]:
    out = [v for v in values.values() if v in text]
    for kind in ("CN_ID_CARD", "CN_PHONE", "BANK_CARD"):  # no 8-digit piece of a number either
        v = values[kind]
        out += [v[i:i + 8] for i in range(len(v) - 7) if v[i:i + 8] in text]
    return out


@pytest.fixture()
def keys(tmp_path):
    plain, allowed = add_key(tmp_path / "keys.txt"), add_key(tmp_path / "keys.txt")
    (tmp_path / "pii_keys.txt").write_text((tmp_path / "keys.txt").read_text().splitlines()[1] + "\n")
    return tmp_path / "keys.txt", tmp_path / "pii_keys.txt", plain, allowed


def test_1000_planted_identifiers_never_reach_upstream_or_log_and_are_restored_for_allowed_callers(tmp_path, keys):
    keys_file, pii_file, plain, allowed = keys
    upstream = RecordingModel()
    log = tmp_path / "gw" / "exchanges.jsonl"
    client = TestClient(create_gateway(upstream, api_keys_file=keys_file, pii_keys_file=pii_file, log_path=log))
    prompts = planted_prompts(200)  # 200 prompts × 5 identifiers = 1,000
    assert sum(len(v) for _, v in prompts) == 1000
    for i, (text, values) in enumerate(prompts):
        key = allowed if i % 2 == 0 else plain
        stream = i % 4 >= 2
        r = client.post("/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                        json={"messages": [{"role": "system", "content": "你是银行客服。"},
                                           {"role": "user", "content": text}], "stream": stream})
        assert r.status_code == 200
        if stream:
            events = [json.loads(line[6:]) for line in r.text.splitlines() if line.startswith("data: {")]
            answer = "".join(e["choices"][0]["delta"].get("content") or "" for e in events)
        else:
            answer = r.json()["choices"][0]["message"]["content"]
        assert _leaks(json.dumps(upstream.received[-1], ensure_ascii=False), values) == []
        if key == allowed:  # the caller's own identifiers come back, exactly
            assert answer == "收到：" + text + "\n" + EXPLICIT_LABEL["zh"]
        else:
            assert _leaks(answer, values) == []
            assert "<CN_ID_CARD_1>" in answer and "<PERSON_1>" in answer
    logged = log.read_text(encoding="utf-8")
    assert len(logged.splitlines()) == 200
    # the chain's digests (SHA-256 / HMAC hex) can hold 8 decimal digits in a row by chance: the
    # search for identifier pieces looks at everything else in the log
    logged = __import__("re").sub(r"\b[0-9a-f]{32,}\b", "<digest>", logged)
    assert len(logged.splitlines()) == 200
    for _, values in prompts:
        assert _leaks(logged, values) == []


def test_answer_carries_explicit_and_implicit_labels(tmp_path):
    client = TestClient(create_gateway(RecordingModel("您好，贷款利率以合同为准。")))
    r = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "利率多少？"}]})
    body = r.json()
    assert body["choices"][0]["message"]["content"] == "您好，贷款利率以合同为准。\n【本内容由人工智能生成】"
    aigc = body["metadata"]["AIGC"]
    assert tuple(aigc) == AIGC_FIELDS and aigc["Label"] == "1" and aigc["ProduceID"] == body["id"]
    assert json.loads(r.headers["X-AIGC"]) == aigc
    assert body["object"] == "chat.completion" and body["usage"] == {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8}


@pytest.mark.parametrize("stream", [False, True])
def test_answer_with_a_keyword_variant_is_blocked_and_logged(tmp_path, stream):
    log = tmp_path / "log.jsonl"
    client = TestClient(create_gateway(RecordingModel("好的，下面教你製-作-炸-彈的步骤……"), log_path=log))
    r = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "讲个故事"}], "stream": stream})
    if stream:
        events = [json.loads(line[6:]) for line in r.text.splitlines() if line.startswith("data: {")]
        text = "".join(e["choices"][0]["delta"].get("content") or "" for e in events)
        finish = events[-1]["choices"][0]["finish_reason"]
    else:
        text, finish = r.json()["choices"][0]["message"]["content"], r.json()["choices"][0]["finish_reason"]
    assert "炸" not in text and "抱歉，该回答可能包含不当内容，已被拦截。" in text
    assert finish == "content_filter"
    entry = json.loads(log.read_text(encoding="utf-8").splitlines()[-1])
    assert entry["params"]["decisions"]["action"] == "blocked"
    assert entry["params"]["decisions"]["keyword_hits"] == [{"term": "制作炸弹", "risk": "A.1.4", "via": "text"}]
    assert entry["step"] == "llm_exchange" and len(entry["hash"]) == 64


def test_mask_policy_replaces_the_term_and_keeps_the_answer(tmp_path):
    from bentu.llm.gateway import GatewayPolicy

    client = TestClient(create_gateway(RecordingModel("有人在网上出售个人信息，请注意防范。"),
                                       policy=GatewayPolicy(keyword_action="mask", label=False)))
    r = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "最近有什么诈骗？"}]})
    assert r.json()["choices"][0]["message"]["content"] == "有人在网上□□□□□□，请注意防范。"


def test_missing_or_wrong_key_is_401_and_upstream_is_not_called(keys):
    keys_file, _, _, _ = keys
    upstream = RecordingModel()
    client = TestClient(create_gateway(upstream, api_keys_file=keys_file))
    for headers in ({}, {"Authorization": "Bearer bentu_wrong"}):
        r = client.post("/v1/chat/completions", headers=headers, json={"messages": [{"role": "user", "content": "hi"}]})
        assert r.status_code == 401
        assert r.json()["error"]["message"] == "A valid API key is required: send 'Authorization: Bearer <key>'."
    assert upstream.received == []
    assert client.get("/healthz").json() == {"status": "ok"}


def test_size_limits_and_bad_requests(tmp_path):
    from bentu.llm.gateway import GatewayPolicy

    upstream = RecordingModel()
    client = TestClient(create_gateway(upstream, policy=GatewayPolicy(max_prompt_chars=100), max_body_bytes=2048))
    r = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "长" * 101}]})
    assert r.status_code == 413
    assert r.json()["error"]["message"] == "the prompt has 101 characters, more than the limit of 100; send a shorter prompt."
    r = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "长" * 2000}]})
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
    r = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "hi"}], "temprature": 1})
    assert r.status_code == 422 and "temprature: Extra inputs are not permitted" in r.json()["error"]["message"]
    assert upstream.received == []


def test_log_after_reply_still_logs_every_exchange(tmp_path):
    from bentu.llm.gateway import GatewayPolicy

    log = tmp_path / "log.jsonl"
    client = TestClient(create_gateway(RecordingModel("好的。"), log_path=log, policy=GatewayPolicy(log_after_reply=True)))
    for _ in range(3):
        r = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "手机13812345678"}]})
        assert r.status_code == 200
    entries = [json.loads(x) for x in log.read_text(encoding="utf-8").splitlines()]
    assert [e["seq"] for e in entries] == [1, 2, 3]
    assert all(e["params"]["messages"][0]["content"] == "手机<CN_PHONE_1>" for e in entries)


@pytest.mark.parametrize("sync, fsyncs", [("fsync", 3), ("flush", 0)])
def test_log_sync_flush_skips_the_fsync_and_the_chain_still_verifies(tmp_path, monkeypatch, sync, fsyncs):
    import os

    from bentu.compliance.audit_log import audit_key, read_chain
    from bentu.llm.gateway import GatewayPolicy

    log = tmp_path / "log.jsonl"
    client = TestClient(create_gateway(RecordingModel("好的。"), log_path=log, policy=GatewayPolicy(log_sync=sync)))
    calls = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append(fd), real(fd))[1])
    for _ in range(3):
        r = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "手机13812345678"}]})
        assert r.status_code == 200
    monkeypatch.undo()
    assert len(calls) == fsyncs
    entries = [json.loads(x) for x in log.read_text(encoding="utf-8").splitlines()]
    assert [e["seq"] for e in entries] == [1, 2, 3]
    assert read_chain(log, audit_key()).ok


def test_log_sync_must_be_fsync_or_flush():
    from bentu.errors import ConfigError
    from bentu.llm.gateway import GatewayPolicy

    with pytest.raises(ConfigError) as err:
        GatewayPolicy(log_sync="sometimes")
    assert str(err.value) == "The 'log_sync' parameter of GatewayPolicy must be 'fsync' or 'flush'. Got 'sometimes' instead."


class _FailingModel(RecordingModel):
    """An upstream that fails as an unreachable endpoint does (before answering, or mid-stream)."""

    def _fail(self, messages):
        from bentu.errors import DataError

        raise DataError(f"the model endpoint answered 500: echo {messages[-1]['content']}", "模型端点返回 500")

    def generate(self, messages, **params):
        self._answer(messages)
        self._fail(messages)

    def stream(self, messages, **params):
        yield "您好，" * 30  # more than the gateway holds back: part of it reaches the caller
        self._fail(messages)


@pytest.mark.parametrize("stream", [False, True])
def test_upstream_failure_is_502_and_on_record_without_pii(tmp_path, stream):
    log = tmp_path / "log.jsonl"
    client = TestClient(create_gateway(_FailingModel(), log_path=log))
    r = client.post("/v1/chat/completions", json={"stream": stream, "messages": [
        {"role": "user", "content": "我的手机13812345678，帮我查贷款"}]})
    if stream:
        assert r.status_code == 200  # the stream had begun: the error is its last event
        errors = [json.loads(line[6:]) for line in r.text.splitlines() if line.startswith('data: {"error"')]
        assert errors[0]["error"]["code"] == "upstream_error"
    else:
        assert r.status_code == 502 and r.json()["error"]["code"] == "upstream_error"
        assert r.json()["error"]["message_zh"] == "模型端点返回 500"
    logged = log.read_text(encoding="utf-8")
    assert "13812345678" not in logged
    entry = json.loads(logged.splitlines()[-1])["params"]
    assert entry["finish_reason"] == "error"
    assert entry["error"] == {"code": "upstream_error",
                              "message": "the model endpoint answered 500: echo 我的手机<CN_PHONE_1>，帮我查贷款"}
    sent = "".join(json.loads(line[6:])["choices"][0]["delta"].get("content") or "" for line in r.text.splitlines()
                   if line.startswith('data: {"id"')) if stream else ""
    assert sent == ("您好，" * 14 if stream else "")  # 90 characters less the 48 held back
    assert entry["answer"] == sent  # what the caller got is on record
