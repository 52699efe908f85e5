"""Names after a naming cue (我叫, 我是, 客户经理 ...), and product names that are not names."""

import pytest

from bentu.llm.faq_sim import generate_bank_faq
from bentu.privacy import detect, detect_batch


def names(text):
    return [text[s.start:s.end] for s in detect(text) if s.type == "PERSON"]


@pytest.mark.parametrize("text, name", [
    # 可 / 正 are given-name characters and function words (可以, 正在): after a cue, in a name
    # that ends at a clause boundary
    ("我叫雍敏可，卡丢了怎么办？", "雍敏可"),
    ("我是雍敏可，手机号13800138000，", "雍敏可"),
    ("如需协助，请联系客户经理熊强可，电话15833985124。", "熊强可"),
    ("姓名：雍敏可", "雍敏可"),
    ("联系人雍敏可", "雍敏可"),
    ("我是唐可，手机号15846843317，", "唐可"),
    ("我是何可子，手机号15821274837，", "何可子"),
    ("我是尹可诗，手机号15891881363，", "尹可诗"),
    ("我是王正，", "王正"),
    # a name that is also a word, after 我叫 or before the person's phone
    ("我叫向阳，卡丢了怎么办？", "向阳"),
    ("请联系客户经理向阳，电话13839571693。", "向阳"),
    # rare surnames of the lexicon after a cue
    ("我叫雍敏浩，", "雍敏浩"),
    ("我叫亓官宇，", "亓官宇"),
])
def test_name_after_a_cue(text, name):
    assert names(text) == [name]


@pytest.mark.parametrize("text", [
    "本土季季盈为R1级理财产品，",  # a doubled character (季季) does not start a name
    "本土季季盈能随时取出来吗？",
    "本土稳盈30天风险高吗？",
    "情况尚可。",  # 可 needs a person word before the surname
    "经许可，",
    "我是王可以吗",  # ... and a clause boundary after the name
    "我是江苏人，",
    "我是党员，",
    "联系人关系：父子",
    "客户来电，电话13800138000",
])
def test_not_a_name(text):
    assert names(text) == []


@pytest.mark.parametrize("n, seed", [(360, 0), (1000, 1), (1000, 3)])
def test_every_planted_faq_value_is_found_exactly(n, seed):
    records, planted = generate_bank_faq(n, seed)
    texts = [r["prompt"] + "\n" + r["answer"] for r in records]
    spans = detect_batch(texts)
    hit = {t[s.start:s.end] for t, sp in zip(texts, spans) for s in sp}
    assert [v for v in planted if v["value"] not in hit] == []
    # and no person is found in the bank's product names
    values = {v["value"] for v in planted}
    assert [t[s.start:s.end] for t, sp in zip(texts, spans) for s in sp
            if s.type == "PERSON" and t[s.start:s.end] not in values] == []
