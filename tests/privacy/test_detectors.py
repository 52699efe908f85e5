import pytest

from bentu.errors import ConfigError
from bentu.privacy import PII_TYPES, PiiEngine, create_detector, detect, detect_batch, list_detectors
from bentu.privacy._corpus import evaluate, generate_corpus


def found(text):
    return [(text[s.start:s.end], s.type) for s in detect(text)]


@pytest.mark.parametrize("text, span, pii_type", [
    ("身份证号11010519491231002X。", "11010519491231002X", "CN_ID_CARD"),
    ("证件110105 19491231 002x办理", "110105 19491231 002x", "CN_ID_CARD"),
    ("身份证１１０１０５１９４９１２３１００２Ｘ", "１１０１０５１９４９１２３１００２Ｘ", "CN_ID_CARD"),
    ("老证件号110105491231002", "110105491231002", "CN_ID_CARD"),
    ("手机13800138000", "13800138000", "CN_PHONE"),
    ("电话+86 138-0013-8000转", "+86 138-0013-8000", "CN_PHONE"),
    ("请致电008613800138000", "008613800138000", "CN_PHONE"),
    ("致电(+86)13800138000", "(+86)13800138000", "CN_PHONE"),
    ("手机１３８００１３８０００", "１３８００１３８０００", "CN_PHONE"),
    ("座机010-62345678", "010-62345678", "CN_LANDLINE"),
    ("传真(0571)87654321", "(0571)87654321", "CN_LANDLINE"),
    ("卡号6222020000000007", "6222020000000007", "BANK_CARD"),
    ("银行卡 6228 4800 1234 5678 903。", "6228 4800 1234 5678 903", "BANK_CARD"),
    ("代码91350100M000100Y43", "91350100M000100Y43", "CN_USCC"),
    ("邮箱zhang.wei@example.com。", "zhang.wei@example.com", "EMAIL"),
    ("服务器192.168.1.20:8080", "192.168.1.20", "IP_ADDRESS"),
    ("来自[2001:db8::1]:443", "2001:db8::1", "IP_ADDRESS"),
    ("护照E12345678", "E12345678", "CN_PASSPORT"),
    ("护照EA1234567", "EA1234567", "CN_PASSPORT"),
    ("车牌粤B12345违停", "粤B12345", "CN_LICENSE_PLATE"),
    ("新能源车京AD12345", "京AD12345", "CN_LICENSE_PLATE"),
    ("车牌沪A·12345D", "沪A·12345D", "CN_LICENSE_PLATE"),
    ("联系人：张伟，电话", "张伟", "PERSON"),
    ("王小明先生您好", "王小明", "PERSON"),
    ("欧阳子涵女士", "欧阳子涵", "PERSON"),
    ("住址：浙江省杭州市西湖区文三路100号3幢201室。", "浙江省杭州市西湖区文三路100号3幢201室", "ADDRESS"),
])
def test_each_type_and_written_variant_is_found_whole(text, span, pii_type):
    assert (span, pii_type) in found(text)


@pytest.mark.parametrize("text", [
    "身份证号110105194912310021",          # MOD 11-2 fails
    "身份证号110105194902300026",          # 30 February
    "卡号6222020000000008",                # Luhn fails
    "代码91350100M000100Y4Z",              # GB 32100 check fails
    "订单号6222020000000007",              # an order number, even if Luhn-valid
    "金额13800138000元",                   # an amount
    "快递单号SF1234567890123",             # tracking number
    "日期2023-05-01 12:30:45",             # date and time
    "版本号 1.2.3.4",                      # version, not an IP
    "住院号13800138000",                   # record number
    "型号12012345678",
])
def test_look_alikes_are_not_identifiers(text):
    assert detect(text) == []


def test_spans_exclude_titles_and_ports():
    text = "王女士和李娜经理来自10.0.0.1:8080"
    assert found(text) == [("王", "PERSON"), ("李娜", "PERSON"), ("10.0.0.1", "IP_ADDRESS")]


def test_offsets_are_code_points_end_exclusive():
    text = "😀客户张伟13800138000"
    spans = detect(text)
    assert [(s.start, s.end, s.type) for s in spans] == [(3, 5, "PERSON"), (5, 16, "CN_PHONE")]


def test_batch_gives_the_same_spans_as_one_by_one():
    texts = [r["text"] for r in generate_corpus(200, seed=4)]
    assert detect_batch(texts) == [detect(t) for t in texts]


def test_registry_lists_every_type_and_suggests_close_names():
    assert sorted(list_detectors()) == sorted(PII_TYPES)
    for name in list_detectors():
        assert create_detector(name).type == name
    with pytest.raises(ConfigError) as err:
        create_detector("CN_PHONES")
    assert "Unknown PII type 'CN_PHONES'" in err.value.en and "Did you mean CN_PHONE" in err.value.en


def test_engine_restricted_to_some_types():
    engine = PiiEngine(["CN_PHONE"])
    assert [s.type for s in engine.detect("张伟 13800138000 a@b.cn")] == ["CN_PHONE"]


def test_generated_corpus_meets_the_issue_targets():
    res = evaluate(generate_corpus(1500, seed=11), lambda t: [tuple(s) for s in detect(t)])
    assert res["micro"]["f1"] >= 0.95
    for t in ("CN_ID_CARD", "BANK_CARD", "CN_USCC"):
        assert res[t]["f1"] >= 0.99, (t, res[t])
    assert res["PERSON"]["recall"] >= 0.85
    assert res["lookalike_flagged_rate"] < 0.02
    assert all(res[t]["support"] > 50 for t in PII_TYPES)
