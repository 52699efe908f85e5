"""Fixtures of the LLM tests: a tiny random-weight model built locally, a recording fake upstream."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"  # nothing may come from a hub
os.environ["TRANSFORMERS_OFFLINE"] = "1"
sys.path.insert(0, str(Path(__file__).parent))

from bentu.llm.models import ChatModel, Completion  # noqa: E402


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


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    from _tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "tiny-qwen2")
