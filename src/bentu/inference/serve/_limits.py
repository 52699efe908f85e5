"""A pure ASGI middleware that answers 413 to request bodies over a size limit."""

import json

from starlette.exceptions import HTTPException

__all__ = ["BodySizeLimit", "too_large_body"]

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
