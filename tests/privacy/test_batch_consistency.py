"""``detect_batch`` gives each text exactly the spans ``detect`` gives it alone.

The batch joins its texts with ``"\\x00"`` and runs the detectors once; every rule that looks at
the start or end of a text (a chat sender on the first line, a CSV cell at the start or end, a
colon at the very end) must read that separator as the text's edge.  The corpus gate for LLM
training and ``pii mask`` rely on it.
"""

import json
import random
from pathlib import Path

import pytest

from bentu.llm.faq_sim import generate_bank_faq
from bentu.privacy import PiiEngine, detect, detect_batch
from bentu.privacy._corpus import generate_corpus, generate_documents

V2 = Path(__file__).resolve().parents[2] / "bench" / "pii_corpus_v2" / "corpus.jsonl"


def _v2_texts():
    with V2.open(encoding="utf-8") as fh:
        return [json.loads(line)["text"] for line in fh if line.strip()]


def _varied_texts():
    texts = _v2_texts()  # chat logs that start with a sender, CSV rows, forms ...
    texts += [r["text"] for r in generate_corpus(150, seed=3)]
    texts += generate_documents(60, seed=5)
    records, _ = generate_bank_faq(80, 2)
    texts += [r["prompt"] + "\n" + r["answer"] for r in records]
    # single lines and cells, so that many texts begin or end with a layout name
    texts += [line for t in texts[:120] for line in t.split("\n") if line][:300]
    return texts


def test_batch_equals_one_by_one_on_varied_texts():
    texts = _varied_texts()
    assert len(texts) > 1000
    assert detect_batch(texts) == [detect(t) for t in texts]


def test_batch_equals_one_by_one_in_any_order_and_batch_size():
    texts = _varied_texts()
    single = {t: detect(t) for t in texts}
    rng = random.Random(0)
    rng.shuffle(texts)
    i = 0
    while i < len(texts):
        k = rng.choice((2, 3, 17, 200))
        chunk = texts[i:i + k]
        i += k
        assert detect_batch(chunk) == [single[t] for t in chunk], chunk


# One literal case per cause of a difference, each with the name found alone (or not found).
# 沙浩: a surname (沙) that the free surname search leaves out, so only the layout finds it.
@pytest.mark.parametrize("text, names", [
    # a chat sender on the text's first line (was only looked for at offset 0 of the batch)
    ("沙浩 20:57\n我到了", ["沙浩"]),
    ("[13:41] 沙浩: 收到", ["沙浩"]),
    ("[13:41] 沙浩：收到", ["沙浩"]),
    # a CSV / TSV cell that starts the text
    ("沙浩,13800138000", ["沙浩"]),
    ("沙浩\t男", ["沙浩"]),
    # a cell that ends the text (``$`` did not match before the separator)
    ("编号,姓名\n1,沙浩", ["沙浩"]),
    ("1|沙浩", ["沙浩"]),
    ("1\t沙浩", ["沙浩"]),
    # a colon at the very end is not a chat line (the separator was read as its message)
    ("沙浩：", []),
    ("[09:12] 沙浩:", []),
])
def test_text_edges_read_the_same_in_a_batch(text, names):
    assert [text[s.start:s.end] for s in detect(text) if s.type == "PERSON"] == names
    for batch in ([text, "你好"], ["你好", text], ["好的", text, "收到"]):
        spans = detect_batch(batch)[batch.index(text)]
        assert [text[s.start:s.end] for s in spans if s.type == "PERSON"] == names, batch


def test_text_holding_the_separator_is_detected_as_alone():
    # In a text, "\x00" is a clause break: 订单号 does not reach the phone number.  The batch
    # used to replace it by a space, and the order-number context then dropped the phone.
    text = "订单号\x0013800138000"
    assert [text[s.start:s.end] for s in detect(text)] == ["13800138000"]
    texts = ["你好", text, "沙浩 20:57\n到了", "a\x00沙浩：你好"]
    assert detect_batch(texts) == [detect(t) for t in texts]


def test_batch_edge_sizes():
    engine = PiiEngine()
    assert engine.detect_batch([]) == []
    assert engine.detect_batch([""]) == [[]]
    assert engine.detect_batch(["", "沙浩,1", ""]) == [[], detect("沙浩,1"), []]
    assert engine.detect_batch(["\x00"]) == [[]]
    assert engine.detect_batch(["\x00", "\x00沙浩,1"]) == [[], detect("\x00沙浩,1")]
