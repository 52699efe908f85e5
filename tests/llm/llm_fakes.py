"""A recording fake upstream for the gateway tests."""

from __future__ import annotations

from bentu.llm.models import ChatModel, Completion


class RecordingModel(ChatModel):
    """A fake upstream: records every message list it receives and echoes the last user message."""

    name = "recording"

    def __init__(self, reply: str | None = None):
        self.received: list[list[dict]] = []
        self.reply = reply

    def _answer(self, messages):
        self.received.append([dict(m) for m in messages])
        return self.reply if self.reply is not None else "收到：" + messages[-1]["content"]

    def generate(self, messages, **params):
        return Completion(self._answer(messages), "stop", 3, 5, self.name)

    def stream(self, messages, **params):
        text = self._answer(messages)
        for i in range(0, len(text), 7):
            yield text[i:i + 7]
