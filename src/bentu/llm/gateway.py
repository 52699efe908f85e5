"""The compliant LLM gateway: an OpenAI-compatible API in front of any :class:`~bentu.llm.models.ChatModel`.

Every exchange goes through the same steps (:class:`Gateway`):

1. size limits on the prompt (characters) — the HTTP body limit is the ASGI middleware's;
2. Chinese PII in every message replaced by typed placeholders (:class:`~bentu.llm.scanners.PiiScanner`)
   before anything goes upstream;
3. the answer checked against the keyword library and blocked or masked by policy;
4. placeholders restored in the answer only for callers whose key is in the PII-reveal keys file;
5. GB 45438 labels: the explicit label appended to the answer text, the implicit ``AIGC`` object in
   the response's ``metadata`` (and the ``X-AIGC`` header);
6. one entry in the hash-chained log with the masked prompt, the masked answer, the model and the
   policy decisions — never a restored value.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException

from bentu.compliance.audit_log import AuditLog
from bentu.inference.serve._limits import BodySizeLimit
from bentu.inference.serve.auth import KeyChecker, hash_key, load_key_hashes
from bentu.llm import protocol as P
from bentu.errors import BentuError, ConfigError
from bentu.llm.keywords import KeywordLibrary, example_library
from bentu.llm.labels import EXPLICIT_LABEL, add_explicit_label, implicit_label
from bentu.llm.models import ChatModel
from bentu.llm.scanners import REFUSAL_TEXT, KeywordScanner, PiiScanner, SizeScanner, Vault

__all__ = ["GatewayPolicy", "Gateway", "Exchange", "create_gateway", "log_exchange"]

log = logging.getLogger(__name__)
_HOLD = 48  # characters held back while streaming: a split term or placeholder is seen whole


@dataclass
class GatewayPolicy:
    """What the gateway does with each exchange.

    Parameters
    ----------
    keyword_action : {"block", "mask"}
        What happens to an answer in which the keyword library finds a term.
    label : bool
        Append the explicit GB 45438 label to every answer.
    label_lang : {"zh", "en"}
        Language of the explicit label and of the blocked-answer text.
    max_prompt_chars : int
        Longer prompts (all messages together) get HTTP 413.
    max_answer_chars : int
        Longer answers are cut (finish_reason ``length``).
    producer : str
        ``ContentProducer`` of the implicit label (the service provider's name or code).
    log_after_reply : bool
        Write a non-streaming exchange's log entry right after the answer is sent instead of
        before (saves the fsync from the caller's latency; an exchange whose process dies in
        between is answered but not logged).
    log_sync : {"fsync", "flush"}
        ``fsync`` (default): every log entry is forced to the disk before the call returns, so
        not even a power cut loses a logged exchange. ``flush``: every entry is handed to the
        operating system (a crash or kill of the gateway loses nothing; a power cut or kernel
        crash may lose the last seconds of entries) and the fsync (≈ 2 ms a request on the
        project's machine) leaves the caller's latency.
    """

    keyword_action: str = "block"
    label: bool = True
    label_lang: str = "zh"
    max_prompt_chars: int = 20_000
    max_answer_chars: int = 20_000
    producer: str = "bentu-gateway"
    log_after_reply: bool = False
    log_sync: str = "fsync"

    def __post_init__(self):
        if self.log_sync not in ("fsync", "flush"):
            raise ConfigError(
                f"The 'log_sync' parameter of GatewayPolicy must be 'fsync' or 'flush'. Got {self.log_sync!r} instead.",
                f"GatewayPolicy 的 'log_sync' 参数必须为 'fsync' 或 'flush'，实际为 {self.log_sync!r}。",
            )
        if self.label_lang not in EXPLICIT_LABEL:
            raise ConfigError(
                f"The 'label_lang' parameter of GatewayPolicy must be 'zh' or 'en'. Got {self.label_lang!r} instead.",
                f"GatewayPolicy 的 'label_lang' 参数必须为 'zh' 或 'en'，实际为 {self.label_lang!r}。",
            )


@dataclass
class Exchange:
    """One request's state: the masked messages, the vault, and the decisions taken."""

    request_id: str
    messages: list[dict]
    vault: Vault
    reveal: bool
    caller: str | None
    decisions: dict = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)


class PromptTooLong(BentuError):
    """The prompt is longer than the policy allows (HTTP 413)."""


def log_exchange(audit: AuditLog, record: dict) -> None:
    """Append one exchange to the hash-chained log (the only place the gateway writes it)."""
    audit.append("llm_exchange", params=record)


class Gateway:
    """The guard steps of the gateway, independent of HTTP (see the module docstring).

    Parameters
    ----------
    model : ChatModel
        The upstream model.
    library : KeywordLibrary, optional
        The keyword library (the shipped EXAMPLE library by default).
    policy : GatewayPolicy, optional
    log_path : Path, optional
        The exchange log (JSON Lines, hash-chained); no log when None.
    """

    def __init__(self, model: ChatModel, *, library: KeywordLibrary | None = None,
                 policy: GatewayPolicy | None = None, log_path: Path | None = None):
        self.model = model
        self.policy = policy or GatewayPolicy()
        self.library = library or example_library()
        self.pii = PiiScanner()
        self.keywords = KeywordScanner(self.library, action=self.policy.keyword_action)
        self.prompt_size = SizeScanner(self.policy.max_prompt_chars)
        self.audit = (AuditLog(Path(log_path), operator="bentu-llm-gateway", fsync=self.policy.log_sync == "fsync")
                      if log_path else None)
        self._log_lock = threading.Lock()

    # -- request side
    def prepare(self, messages: list[dict], *, reveal: bool = False, caller: str | None = None) -> Exchange:
        """Check the prompt's size and mask its PII; raises :class:`PromptTooLong`."""
        prompt = "".join(m.get("content") or "" for m in messages)
        total = len(prompt)
        _, ok, _ = self.prompt_size.scan(prompt)
        if not ok:
            raise PromptTooLong(
                f"the prompt has {total} characters, more than the limit of {self.policy.max_prompt_chars}; "
                "send a shorter prompt.",
                f"提示词共 {total} 个字符，超过 {self.policy.max_prompt_chars} 的上限；请缩短提示词。",
            )
        vault = Vault()
        masked = []
        for m in messages:
            text, _, _ = self.pii.scan(m.get("content") or "", vault)
            masked.append({"role": m["role"], "content": text})
        ex = Exchange(f"req-{uuid.uuid4().hex[:16]}", masked, vault, reveal, caller)
        ex.decisions["pii_masked"] = vault.counts()
        return ex

    # -- answer side
    def check(self, ex: Exchange, answer: str) -> tuple[str, bool]:
        """Apply the keyword policy to a raw answer; returns (text, blocked)."""
        text, valid, hits = self._keyword_scan(answer)
        ex.decisions["keyword_hits"] = [{"term": h.term, "risk": h.risk, "via": h.via} for h in hits]
        if not valid:
            ex.decisions["action"] = "blocked"
            return REFUSAL_TEXT[self.policy.label_lang], True
        ex.decisions["action"] = "masked" if hits else "passed"
        return text, False

    def _keyword_scan(self, answer: str):
        """(text, valid, hits) of the keyword scanner, thread-safe (no shared ``last_hits``)."""
        hits = self.library.find(answer)
        if not hits:
            return answer, True, []
        if self.keywords.action == "block":
            return answer, False, hits
        return self.keywords.mask(answer, hits), True, hits

    def deliver(self, ex: Exchange, text: str) -> str:
        """The checked answer as the caller receives it (restored if allowed), without the label."""
        return ex.vault.restore(text) if ex.reveal else text

    def label(self, text: str) -> str:
        return add_explicit_label(text, self.policy.label_lang) if self.policy.label else text

    def aigc(self, ex: Exchange) -> dict:
        return implicit_label(producer=self.policy.producer, produce_id=ex.request_id)

    def record(self, ex: Exchange, checked_answer: str, *, finish_reason: str, usage: dict, stream: bool,
               error: BentuError | None = None) -> None:
        """Log the exchange in masked form (the answer is PII-masked again: a model may invent PII).

        ``error``: the upstream failure the caller was told of (``finish_reason`` "error"); its
        message is masked too (an upstream may echo the prompt).
        """
        if self.audit is None:
            return
        answer_masked, _, _ = self.pii.scan(checked_answer, Vault())
        rec = {
            "request_id": ex.request_id, "caller": ex.caller, "model": self.model.describe(),
            "stream": stream, "messages": ex.messages, "answer": answer_masked,
            "finish_reason": finish_reason, "usage": usage, "decisions": ex.decisions,
            "revealed_to_caller": ex.reveal, "explicit_label": self.policy.label,
            "aigc": self.aigc(ex), "gateway_ms": round((time.perf_counter() - ex.started) * 1000, 3),
        }
        if error is not None:
            rec["error"] = {"code": "upstream_error", "message": self.pii.scan(error.en, Vault())[0]}
        with self._log_lock:
            log_exchange(self.audit, rec)

    def complete(self, ex: Exchange, *, defer_log: bool = False, **params) -> dict:
        """Run one non-streaming exchange; returns ``{"text", "finish_reason", "usage"}``.

        With ``defer_log`` the log entry is not written here: ``"log"`` holds a callable that
        writes it (the HTTP app runs it right after the answer is sent).
        """
        try:
            out = self.model.generate(ex.messages, **params)
        except BentuError as err:  # on record too: the caller gets HTTP 502
            self.record(ex, "", finish_reason="error", usage={}, stream=False, error=err)
            raise
        raw = out.text[: self.policy.max_answer_chars]
        finish = "length" if len(out.text) > self.policy.max_answer_chars else out.finish_reason
        checked, blocked = self.check(ex, raw)
        finish = "content_filter" if blocked else finish
        usage = {"prompt_tokens": out.prompt_tokens, "completion_tokens": out.completion_tokens,
                 "total_tokens": out.prompt_tokens + out.completion_tokens}
        out = {"text": self.label(self.deliver(ex, checked)), "finish_reason": finish, "usage": usage}
        write = lambda: self.record(ex, checked, finish_reason=finish, usage=usage, stream=False)  # noqa: E731
        if defer_log:
            return {**out, "log": write}
        write()
        return out

    def stream(self, ex: Exchange, **params) -> Iterator[tuple[str, str | None]]:
        """Run one streaming exchange: yields ``(text, finish_reason)``; the last has a reason.

        The last :data:`_HOLD` characters are held back until more arrive, so that a term or a
        placeholder split across pieces is checked (and restored) whole.
        """
        buf, sent, finish = "", 0, "stop"
        try:
            for piece in self.model.stream(ex.messages, **params):
                buf += piece
                if len(buf) > self.policy.max_answer_chars:
                    buf, finish = buf[: self.policy.max_answer_chars], "length"
                    break
                checked, blocked = self.check(ex, buf)
                if blocked:
                    break
                upto = _safe_cut(checked, sent, len(checked) - _HOLD)
                if upto > sent:
                    yield self.deliver(ex, checked[sent:upto]), None
                    sent = upto
        except BentuError as err:  # upstream failed mid-stream: what was sent goes on record with the error
            checked, _ = self.check(ex, buf)
            self.record(ex, checked[:sent], finish_reason="error", usage={}, stream=True, error=err)
            raise
        checked, blocked = self.check(ex, buf)
        if blocked:  # what was sent is replaced: the caller is told the answer was blocked
            finish = "content_filter"
            tail = ("\n" if sent else "") + checked
        else:
            tail = checked[sent:]
        if self.policy.label:
            tail = tail + "\n" + EXPLICIT_LABEL[self.policy.label_lang]
        self.record(ex, checked, finish_reason=finish, usage={}, stream=True)
        yield self.deliver(ex, tail), finish


def _safe_cut(text: str, start: int, upto: int) -> int:
    """``upto`` moved back so that no placeholder ``<...>`` is cut in two."""
    if upto <= start:
        return start
    lt = text.rfind("<", start, upto)
    if lt >= 0 and text.find(">", lt, upto) < 0:
        return lt
    return upto


def create_gateway(model: ChatModel, *, api_keys_file: Path | None = None, pii_keys_file: Path | None = None,
                   log_path: Path | None = None, library: KeywordLibrary | None = None,
                   policy: GatewayPolicy | None = None, max_body_bytes: int = 1_000_000):
    """The FastAPI app of ``bentu llm serve``: ``POST /v1/chat/completions``, ``GET /v1/models``, ``GET /healthz``.

    Parameters
    ----------
    model : ChatModel
    api_keys_file : Path, optional
        SHA-256 hashes of accepted keys (``bentu keys new FILE``); requests then need
        ``Authorization: Bearer <key>``. Without it the gateway is open (bind it to loopback).
    pii_keys_file : Path, optional
        Hashes of the keys whose callers may see the PII of their own prompt restored in the
        answer. Everyone else gets the placeholders.
    log_path : Path, optional
        The hash-chained exchange log.
    library, policy : see :class:`Gateway`.
    max_body_bytes : int
        Larger request bodies get HTTP 413.
    """
    keys = KeyChecker(load_key_hashes(api_keys_file)) if api_keys_file else None
    pii_keys = KeyChecker(load_key_hashes(pii_keys_file)) if pii_keys_file else None
    gw = Gateway(model, library=library, policy=policy, log_path=log_path)
    app = FastAPI(title="bentu LLM gateway", version="1")
    app.state.gateway = gw
    app.add_middleware(BodySizeLimit, max_bytes=max_body_bytes)

    def _err(status: int, code: str, en: str, zh: str, headers=None) -> JSONResponse:
        return JSONResponse({"error": {"code": code, "message": en, "message_zh": zh, "type": code}},
                            status_code=status, headers=headers)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException):
        if exc.status_code == 401:
            return _err(401, "unauthorized", "A valid API key is required: send 'Authorization: Bearer <key>'.",
                        "需要有效的 API 密钥：请发送 'Authorization: Bearer <密钥>'。", {"WWW-Authenticate": "Bearer"})
        if exc.status_code == 413:
            return _err(413, "payload_too_large", f"The request body is larger than the limit of {max_body_bytes} bytes.",
                        f"请求体超过 {max_body_bytes} 字节的上限。")
        return _err(exc.status_code, "http_error", str(exc.detail), str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        where = "; ".join(f"{'.'.join(str(x) for x in e['loc'][1:])}: {e['msg']}" for e in exc.errors()[:5])
        return _err(422, "invalid_request", f"The request is not a valid chat completion request: {where}.",
                    f"请求不是有效的 chat completion 请求：{where}。")

    @app.exception_handler(BentuError)
    async def _bentu(request: Request, exc: BentuError):
        status = 413 if isinstance(exc, PromptTooLong) else 502
        return _err(status, "prompt_too_long" if status == 413 else "upstream_error", exc.en, exc.zh)

    def caller(request: Request) -> tuple[str | None, bool]:
        auth = request.headers.get("authorization", "")
        key = auth[7:].strip() if auth[:7].lower() == "bearer " else None
        if keys is not None and not keys(key):
            raise HTTPException(401)
        reveal = bool(pii_keys is not None and pii_keys(key))
        return (hash_key(key)[:12] if key else None), reveal

    @app.get("/healthz")
    def healthz() -> dict:
        return {"status": "ok"}

    @app.get("/v1/models")
    def models(who=Depends(caller)) -> dict:
        return {"object": "list", "data": [{"id": gw.model.name, "object": "model", "owned_by": "bentu"}]}

    @app.post("/v1/chat/completions", response_model=P.ChatCompletionResponse, response_model_exclude_none=True)
    def chat(req: P.ChatCompletionRequest, who=Depends(caller)):
        key_id, reveal = who
        ex = gw.prepare([{"role": m.role, "content": m.text()} for m in req.messages], reveal=reveal, caller=key_id)
        aigc = gw.aigc(ex)
        headers = {"X-AIGC": json.dumps(aigc, separators=(",", ":")), "X-Request-Id": ex.request_id}
        name = req.model or gw.model.name
        if req.stream:
            return StreamingResponse(_sse(gw, ex, req, name, aigc), media_type="text/event-stream", headers=headers)
        out = gw.complete(ex, defer_log=gw.policy.log_after_reply, **req.params())
        body = P.ChatCompletionResponse(
            id=ex.request_id, model=name, usage=P.UsageInfo(**out["usage"]),
            choices=[P.ChatCompletionChoice(message=P.AssistantMessage(content=out["text"]),
                                            finish_reason=out["finish_reason"])],
            metadata={"AIGC": aigc, "bentu": {k: ex.decisions[k] for k in ("action", "pii_masked")}},
        )
        return JSONResponse(body.model_dump(exclude_none=True), headers=headers,
                            background=BackgroundTask(out["log"]) if "log" in out else None)

    return app


def _sse(gw: Gateway, ex: Exchange, req, name: str, aigc: dict) -> Iterator[bytes]:
    created = int(time.time())

    def event(delta: dict, finish=None, **extra) -> bytes:
        chunk = P.ChatCompletionStreamResponse(id=ex.request_id, created=created, model=name, choices=[
            P.ChatCompletionStreamChoice(delta=P.DeltaMessage(**delta), finish_reason=finish)], **extra)
        return b"data: " + json.dumps(chunk.model_dump(exclude_none=True), ensure_ascii=False).encode() + b"\n\n"

    yield event({"role": "assistant"})
    try:
        for text, finish in gw.stream(ex, **req.params()):
            if text:
                yield event({"content": text})
            if finish is not None:
                yield event({}, finish, metadata={"AIGC": aigc})
    except BentuError as err:  # upstream failed mid-stream: say so in the stream, then end it
        payload = {"error": {"code": "upstream_error", "message": err.en, "message_zh": err.zh}}
        yield b"data: " + json.dumps(payload, ensure_ascii=False).encode() + b"\n\n"
    yield b"data: [DONE]\n\n"
