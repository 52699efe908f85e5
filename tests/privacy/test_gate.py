import json

import pytest

from bentu.errors import ConfigError, DataError
from bentu.privacy import run_privacy_gate

FEATURES = ["age", "income", "loan_amount", "province"]


def gate(df, **kw):
    kw.setdefault("features", FEATURES)
    kw.setdefault("target", "default")
    kw.setdefault("protected", ["sex"])
    return run_privacy_gate(df, **kw)


def test_off_returns_the_data_unchanged_and_says_so(credit_df):
    out, report = gate(credit_df, pii="off")
    assert out is credit_df
    assert report["pii"] == "off" and report["deidentified"] is False


def test_auto_classifies_the_credit_columns(credit_df, key_env):
    out, report = gate(credit_df)
    cls = {c: v["class"] for c, v in report["columns"].items()}
    assert {c for c, k in cls.items() if k == "direct_identifier"} == {"name", "id_card", "mobile"}
    assert {cls[c] for c in ("sex", "age", "province", "hukou")} <= {"quasi_identifier", "sensitive"}
    assert report["columns"]["id_card"]["pii_types"]["CN_ID_CARD"]["rate"] == 1.0
    assert report["key_source"] == "env:BENTU_PSEUDONYM_KEY" and report["deidentified"] is True
    assert out["id_card"].str.startswith("ID_").all() and out["mobile"].str.startswith("PH_").all()
    # target, protected and features are untouched
    for col in ("default", "sex", "age", "income", "province"):
        assert out[col].equals(credit_df[col])


def test_report_never_holds_a_raw_value(credit_df, key_env):
    _, report = gate(credit_df, k_anonymity=3)
    text = json.dumps(report, ensure_ascii=False)
    for col in ("name", "id_card", "mobile"):
        for value in credit_df[col].astype(str):
            assert value not in text
    assert key_env not in text


def test_pseudonyms_join_across_runs_with_the_same_key(credit_df, key_env):
    a, _ = gate(credit_df)
    b, _ = gate(credit_df.sample(frac=1, random_state=0))
    assert set(a["id_card"]) == set(b["id_card"])


def test_ephemeral_key_when_none_is_configured(credit_df, monkeypatch):
    monkeypatch.delenv("BENTU_PSEUDONYM_KEY", raising=False)
    _, report = gate(credit_df)
    assert report["key_source"] == "ephemeral"


def test_direct_identifier_as_a_feature_is_refused(credit_df, key_env):
    with pytest.raises(DataError) as err:
        gate(credit_df, features=["age", "id_card"])
    assert err.value.en == (
        "Column 'id_card' holds direct identifiers (100.0% of its 400 values are entirely CN_ID_CARD) and "
        "cannot be a model feature. Remove it from data.features, or set privacy.pii: off only "
        "for data that holds no personal information.")
    assert err.value.zh.startswith("列 'id_card' 含直接标识符")


def test_policy_operators_and_unknown_policy_column(credit_df, key_env, tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text("types:\n  PERSON: suppress\n  CN_PHONE: {op: mask}\n", encoding="utf-8")
    out, report = gate(credit_df, policy=path)
    assert out["name"].isna().all()
    assert out["mobile"].str.contains(r"^\d{3}\*{4}\d{4}$").all()
    assert report["columns"]["mobile"]["operator"] == {"op": "mask"}
    with pytest.raises(DataError, match="names column"):
        gate(credit_df, policy={"columns": {"nmae": "suppress"}})


def test_k_anonymity_is_reached_and_reported(credit_df, key_env):
    out, report = gate(credit_df, k_anonymity=5, quasi_identifiers=["sex", "age", "province", "hukou"])
    k = report["k_anonymity"]
    assert k["before"]["k"] < 5 <= k["k"]
    assert k["records_suppressed"] == len(credit_df) - len(out) <= 0.05 * len(credit_df)
    assert "sex" in k["not_generalised"]  # protected: counted, never generalised
    assert set(k["features_changed"]) == set(k["generalised_columns"]) & set(FEATURES)
    assert out.groupby(["sex", "age", "province", "hukou"], dropna=False).size().min() >= 5


def test_bad_pii_setting():
    import pandas as pd
    with pytest.raises(ConfigError, match="'privacy.pii' setting must be 'auto' or 'off'"):
        run_privacy_gate(pd.DataFrame({"a": [1]}), pii="on", features=["a"], target="a")
