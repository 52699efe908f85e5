import pytest

from bentu.errors import DataError
from bentu.privacy import detect, generalize_address, generalize_age, generalize_date, load_key, mask, pseudonymize, replace
from bentu.privacy.operators import PseudonymKey

KEY = PseudonymKey(b"k" * 32, "test")


@pytest.mark.parametrize("value, pii_type, expected", [
    ("11010519491231002X", "CN_ID_CARD", "110105********002X"),
    ("13800138000", "CN_PHONE", "138****8000"),
    ("+86 138-0013-8000", "CN_PHONE", "+86 138-****-8000"),
    ("6222020000000007", "BANK_CARD", "622202******0007"),
    ("zhang.wei@qq.com", "EMAIL", "z****.***@qq.com"),
    ("欧阳子涵", "PERSON", "欧***"),
])
def test_display_masking_defaults(value, pii_type, expected):
    assert mask(value, pii_type) == expected


def test_masking_is_configurable():
    assert mask("13800138000", "CN_PHONE", keep_head=0, keep_tail=2, char="#") == "#########00"


def test_pseudonyms_join_across_written_forms_and_differ_across_keys():
    forms = ["13800138000", "+86 138-0013-8000", "0086 138 0013 8000", "１３８００１３８０００"]
    assert len({pseudonymize(f, KEY, "CN_PHONE") for f in forms}) == 1
    other = PseudonymKey(b"o" * 32, "test")
    assert pseudonymize(forms[0], KEY, "CN_PHONE") != pseudonymize(forms[0], other, "CN_PHONE")
    # a legacy 15-digit ID joins with its 18-digit upgrade
    assert pseudonymize("110105491231002", KEY, "CN_ID_CARD") == pseudonymize("11010519491231002X", KEY, "CN_ID_CARD")


def test_format_preserving_replacement_keeps_shape_and_validity():
    for value, pii_type in [("11010519491231002X", "CN_ID_CARD"), ("6222 0200 0000 0007", "BANK_CARD"),
                            ("91350100M000100Y43", "CN_USCC"), ("138-0013-8000", "CN_PHONE")]:
        fake = replace(value, KEY, pii_type)
        assert fake != value and len(fake) == len(value)
        assert [(s.start, s.end, s.type) for s in detect(fake)] == [(0, len(fake), pii_type)]
        assert replace(value, KEY, pii_type) == fake  # deterministic


def test_generalisation():
    assert generalize_age(37) == 34.5 and generalize_age(37, width=5) == 37.0
    assert generalize_date("2023-05-17") == "2023-05"
    assert generalize_address("浙江省杭州市西湖区文三路100号") == "浙江省杭州市"


def test_key_sources(monkeypatch, tmp_path):
    monkeypatch.delenv("BENTU_PSEUDONYM_KEY", raising=False)
    assert load_key().source == "ephemeral"
    with pytest.raises(DataError) as err:
        load_key(ephemeral=False)
    assert err.value.en.startswith("No pseudonymisation key: the environment variable BENTU_PSEUDONYM_KEY is not set")
    monkeypatch.setenv("BENTU_PSEUDONYM_KEY", "x" * 20)
    key = load_key()
    assert key.source == "env:BENTU_PSEUDONYM_KEY" and "x" * 20 not in repr(key)
    (tmp_path / "k").write_text("y" * 40 + "\n")
    assert load_key(key_file=tmp_path / "k").secret == b"y" * 40
    with pytest.raises(DataError, match="too short"):
        monkeypatch.setenv("SHORT", "abc")
        load_key("SHORT")
