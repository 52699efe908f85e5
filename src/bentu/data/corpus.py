"""Text corpora for language-model tuning: read them, find their text fields, tokenize them.

A corpus is instruction/answer pairs (JSON Lines or CSV with a prompt and an answer column, e.g.
``prompt``/``answer``, ``instruction``/``output``, ``question``/``answer``) or plain documents
(a ``text`` field, or a ``.txt`` file with one document per line). :func:`encode_corpus` turns it
into the tensors a causal language model trains on: pairs in the tokenizer's chat template with
the loss on the answer only, documents with the loss on every token.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from bentu.data.io import read_table, sha256_file
from bentu.errors import DataError

__all__ = ["read_corpus", "corpus_fields", "encode_corpus", "prompt_ids", "plain_dialogue", "PAIR_FIELDS"]

#: Field pairs recognised as prompt / answer, in order of preference.
PAIR_FIELDS = (("prompt", "answer"), ("instruction", "output"), ("question", "answer"), ("query", "response"))


def read_corpus(path: str | Path, fmt: str | None = None) -> tuple[list[dict], dict]:
    """The records of a corpus file (``.jsonl``, ``.csv``, ``.txt``) and where they came from.

    Raises
    ------
    DataError
        The file is missing, unreadable, or holds no records (each named with the file).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"Corpus file {path} does not exist.", f"语料文件 {path} 不存在。")
    kind = fmt or ("txt" if path.suffix.lower() == ".txt" else None)
    if kind == "txt":
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError as err:
            raise DataError(f"Corpus file {path} is not UTF-8 text (byte {err.start}).",
                            f"语料文件 {path} 不是 UTF-8 文本（第 {err.start} 字节）。") from err
        records = [{"text": line.strip()} for line in lines if line.strip()]
    else:
        df = read_table(path, kind)
        records = [{k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}
                   for row in df.to_dict(orient="records")]
    if not records:
        raise DataError(f"Corpus file {path} holds no records: there is nothing to train on.",
                        f"语料文件 {path} 没有任何记录：没有可训练的内容。")
    return records, {"path": str(path), "rows": len(records), "sha256": sha256_file(path)}


def corpus_fields(records: list[dict], *, prompt: str | None = None, answer: str | None = None,
                  text: str | None = None, source: str = "corpus") -> dict[str, str]:
    """The corpus's text fields: ``{"prompt": …, "answer": …}`` for pairs or ``{"text": …}`` for documents.

    Named fields are checked against the first record; otherwise the first of :data:`PAIR_FIELDS`
    (then ``text``) that the records have is used.

    Raises
    ------
    DataError
        No text field is found, or a named one is absent (the fields the records do have are listed).
    """
    keys = list(records[0]) if records else []

    def missing(names: list[str]) -> DataError:
        return DataError(
            f"The corpus {source} has no field {', '.join(map(repr, names))}; its records have "
            f"{', '.join(map(repr, keys[:12])) or 'no fields'}. Set tuning.prompt_field and "
            "tuning.answer_field (instruction/answer pairs) or tuning.text_field (documents).",
            f"语料 {source} 没有字段 {', '.join(map(repr, names))}；其记录的字段为 "
            f"{', '.join(map(repr, keys[:12])) or '（无）'}。请设置 tuning.prompt_field 与 "
            "tuning.answer_field（问答对）或 tuning.text_field（文档）。")

    if text:
        if text not in keys:
            raise missing([text])
        return {"text": text}
    if prompt or answer:
        names = [prompt or "prompt", answer or "answer"]
        absent = [n for n in names if n not in keys]
        if absent:
            raise missing(absent)
        return {"prompt": names[0], "answer": names[1]}
    for p, a in PAIR_FIELDS:
        if p in keys and a in keys:
            return {"prompt": p, "answer": a}
    if "text" in keys:
        return {"text": "text"}
    raise missing(["prompt/answer", "instruction/output", "question/answer", "text"])


def plain_dialogue(messages: list[dict]) -> str:
    """Messages as plain 问：/答： turns, ending where the next answer starts (for models without a chat
    template; tuning and serving use the same form). A system message is a first line of its own."""
    parts = []
    for m in messages:
        role, text = m.get("role"), str(m.get("content", ""))
        parts.append(text + "\n" if role == "system" else f"{'答' if role == 'assistant' else '问'}：{text}\n")
    return "".join(parts) + "答："


def prompt_ids(tokenizer: Any, prompt: str) -> list[int]:
    """The token ids of ``prompt`` as a user turn, up to where the answer starts."""
    messages = [{"role": "user", "content": prompt}]
    if getattr(tokenizer, "chat_template", None):
        out = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=True)
        return list(out["input_ids"])
    return tokenizer(plain_dialogue(messages), add_special_tokens=True)["input_ids"]


def encode_corpus(records: list[dict], tokenizer: Any, fields: dict[str, str], *, max_length: int = 128) -> dict:
    """Token ids, attention mask and labels (``-100`` where the loss does not count) of every record.

    Returns
    -------
    dict
        ``input_ids``, ``attention_mask``, ``labels`` (``int64`` tensors, ``[records, max_length]``),
        ``tokens`` (label tokens in all) and ``truncated`` (records cut at ``max_length``).
    """
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    eos = tokenizer.eos_token_id
    ids = torch.full((len(records), max_length), int(pad), dtype=torch.long)
    att = torch.zeros((len(records), max_length), dtype=torch.long)
    labels = torch.full((len(records), max_length), -100, dtype=torch.long)
    truncated = tokens = 0
    for i, rec in enumerate(records):
        if "text" in fields:
            head: list[int] = []
            body = tokenizer(str(rec[fields["text"]]), add_special_tokens=True)["input_ids"]
        else:
            head = prompt_ids(tokenizer, str(rec[fields["prompt"]]))
            body = tokenizer(str(rec[fields["answer"]]), add_special_tokens=False)["input_ids"]
        if eos is not None:
            body = [*body, int(eos)]
        seq = (head + body)[:max_length]
        truncated += len(head) + len(body) > max_length
        n = len(seq)
        ids[i, :n] = torch.tensor(seq, dtype=torch.long)
        att[i, :n] = 1
        start = min(len(head), n)
        labels[i, start:n] = ids[i, start:n]
        tokens += n - start
    return {"input_ids": ids, "attention_mask": att, "labels": labels, "tokens": tokens, "truncated": truncated}
