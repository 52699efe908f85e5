from bentu.privacy import _checksums as ck


def test_resident_id_mod11_2_reference_example():
    assert ck.id18_check_char("11010519491231002") == "X"
    assert ck.id18_valid("11010519491231002X")
    assert ck.id18_valid("11010519491231002x")
    assert not ck.id18_valid("110105194912310021")  # wrong check character
    assert not ck.id18_valid("110105194902300025"[:17] + ck.id18_check_char("11010519490230002"))  # Feb 30


def test_legacy_15_digit_id_needs_real_birth_date():
    assert ck.id15_valid("110105491231002")
    assert not ck.id15_valid("110105491331002")
    assert not ck.id15_valid("990105491231002")  # no such province


def test_uscc_gb32100_reference_example():
    assert ck.uscc_valid("91350100M000100Y43")
    assert not ck.uscc_valid("91350100M000100Y4Z")


def test_luhn_and_mobile_ranges():
    assert ck.luhn_valid("6222020000000007")
    assert not ck.luhn_valid("6222020000000008")
    assert ck.luhn_check_digit("622202000000000") == "7"
    assert ck.mobile_valid("13800138000") and ck.mobile_valid("19912345678")
    assert not ck.mobile_valid("12012345678") and not ck.mobile_valid("14012345678")


def test_fullwidth_and_separators_compact_away():
    assert ck.compact("１３８ ００１３-８０００") == "13800138000"
