import pytest

from bentu.errors import ConfigError, DataError
from bentu.privacy import load_policy


def test_policy_file_chooses_operators(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("default: mask\ntypes:\n  CN_PHONE: {op: mask, keep_head: 3, keep_tail: 4}\n"
                    "  PERSON: suppress\ncolumns:\n  age: {op: generalize, width: 10}\n", encoding="utf-8")
    pol = load_policy(path)
    assert pol.for_type("PERSON") == {"op": "suppress"}
    assert pol.for_type("EMAIL") == {"op": "mask"}
    assert pol.columns["age"] == {"op": "generalize", "width": 10}


def test_unknown_type_is_named_with_a_suggestion(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("types:\n  CN_PHONES: mask\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_policy(path)
    assert err.value.en.startswith(f"Policy '{path}' names unknown PII type 'CN_PHONES'.")
    assert "Did you mean CN_PHONE" in err.value.en
    assert "CN_PHONES" in err.value.zh


def test_unknown_operator_key_and_parameter():
    with pytest.raises(ConfigError, match="operator 'hash'"):
        load_policy({"types": {"EMAIL": "hash"}})
    with pytest.raises(ConfigError, match="unknown key"):
        load_policy({"type": {}})
    with pytest.raises(ConfigError, match="unknown parameter"):
        load_policy({"types": {"EMAIL": {"op": "mask", "keep": 2}}})


def test_unknown_column_is_named():
    pol = load_policy({"columns": {"mobil": "mask"}})
    with pytest.raises(DataError) as err:
        pol.check_columns(["name", "mobile"])
    assert err.value.en == ("Policy (dict) names column(s) 'mobil' that the data does not have. "
                            "Columns: name, mobile. Did you mean 'mobile'?")
