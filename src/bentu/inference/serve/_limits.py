"""Pure ASGI middlewares: 413 for request bodies over a size limit, the API key checked before
the body is read, and HEAD answered wherever GET is."""

import json

from starlette.exceptions import HTTPException

__all__ = ["BodySizeLimit", "KeyGate", "HeadAsGet", "too_large_body"]

_DRAIN_LIMIT = 64 * 1024 * 1024  # read and discard at most this much of an oversized body


def too_large_body(limit: int) -> dict:
    return {
        "error": {
            "code": "payload_too_large",
            "message": f"The request body is larger than the limit of {limit} bytes; send fewer records per request.",
            "message_zh": f"请求体超过 {limit} 字节的上限；请减少每次请求的记录数。",
            "fields": [],
        },
        "request_id": None,
    }


class BodySizeLimit:
    """Reject bodies over ``max_bytes``: by Content-Length before reading, else while streaming."""

    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, int(max_bytes)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            await self._drain(receive)
            return await self._reject(send)
        seen = 0

        async def limited():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise HTTPException(413)
            return message

        await self.app(scope, limited, send)

    @staticmethod
    async def _drain(receive) -> None:
        # Reading the rest lets the client finish sending and read our answer on a kept-alive
        # connection; past _DRAIN_LIMIT the server answers and closes.
        total = 0
        while total <= _DRAIN_LIMIT:
            message = await receive()
            if message["type"] != "http.request":
                return
            total += len(message.get("body", b""))
            if not message.get("more_body", False):
                return

    async def _reject(self, send) -> None:
        body = json.dumps(too_large_body(self.max_bytes), ensure_ascii=False).encode("utf-8")
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


_UNAUTHORIZED = json.dumps({
    "error": {"code": "unauthorized", "message": "A valid API key is required: send 'Authorization: Bearer <key>'.",
              "message_zh": "需要有效的 API 密钥：请发送 'Authorization: Bearer <密钥>'。", "fields": []},
    "request_id": None,
}, ensure_ascii=False).encode("utf-8")


class KeyGate:
    """Answer 401 to a request under ``prefix`` without a valid ``Authorization: Bearer`` key,
    before the application reads (or parses) any of its body."""

    def __init__(self, app, check, prefix: str = "/v1/"):
        self.app, self.check, self.prefix = app, check, prefix

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope.get("path", "").startswith(self.prefix):
            return await self.app(scope, receive, send)
        auth = next((v for k, v in scope["headers"] if k == b"authorization"), b"").decode("latin-1")
        scheme, _, key = auth.partition(" ")
        if scheme.lower() == "bearer" and self.check(key.strip()):
            return await self.app(scope, receive, send)
        await send({"type": "http.response.start", "status": 401,
                    "headers": [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer"),
                                (b"content-length", str(len(_UNAUTHORIZED)).encode())]})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else _UNAUTHORIZED})


class HeadAsGet:
    """Answer HEAD like GET, without the body (headers, status and Content-Length unchanged)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "HEAD":
            return await self.app(scope, receive, send)

        async def no_body(message):
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, no_body)
