"""A header only raises suspicion; the values decide (issue 20).

The stand-in table is shaped like the public German credit data: headers such as
``status_of_existing_checking_account`` (which names an account) and ``telephone`` over
category values such as "... < 0 DM" and "none".
"""

from __future__ import annotations

import json
import os
import random

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from bentu.cli.app import app
from bentu.errors import DataError
from bentu.privacy.gate import run_privacy_gate
from bentu.privacy.tables import classify_column, classify_table

runner = CliRunner()
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_number(rng: random.Random) -> str:
    """A valid 18-digit resident identity number (GB 11643-1999 check digit)."""
    body = rng.choice(("110101", "440305")) + f"{rng.randint(1960, 2000)}{rng.randint(1, 12):02d}" \
        f"{rng.randint(1, 28):02d}{rng.randrange(1000):03d}"
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, _WEIGHTS)) % 11]


def mobile(rng: random.Random) -> str:
    return rng.choice(("138", "159", "186")) + f"{rng.randrange(10 ** 8):08d}"


def german_like(n: int = 1000, seed: int = 0) -> pd.DataFrame:
    rng = random.Random(seed)
    return pd.DataFrame({
        "status_of_existing_checking_account": [rng.choice(["... < 0 DM", "0 <= ... < 200 DM", ">= 200 DM",
                                                            "no checking account"]) for _ in range(n)],
        "duration_in_month": [rng.choice([6, 12, 18, 24, 36, 48]) for _ in range(n)],
        "credit_history": [rng.choice(["existing credits paid back duly", "critical account", "delay in paying off"])
                           for _ in range(n)],
        "credit_amount": [rng.randint(250, 18000) for _ in range(n)],
        "savings_account_bonds": [rng.choice(["... < 100 DM", "100 <= ... < 500 DM", "unknown/ no savings account"])
                                  for _ in range(n)],
        "telephone": [rng.choice(["none", "yes, registered under the customers name"]) for _ in range(n)],
        "foreign_worker": [rng.choice(["yes", "no"]) for _ in range(n)],
        "creditability": [rng.choice(["good", "good", "bad"]) for _ in range(n)],
    })


def test_headers_that_name_an_account_or_a_phone_over_category_values_are_not_identifiers():
    infos = classify_table(german_like())
    for col, hint in (("status_of_existing_checking_account", "BANK_CARD"), ("savings_account_bonds", "BANK_CARD"),
                      ("telephone", "CN_PHONE")):
        info = infos[col]
        assert (info.cls, info.reason, info.header_hint, info.scanned) == ("other", "header_not_confirmed", hint, 1000)
        d = info.to_dict()
        assert d["value_hit_rate"] == 0.0 and d["detector_types"] == [] and d["scan"] == "full"
    assert infos["telephone"].why("en") == (
        "its header suggests CN_PHONE, but none of its 1,000 values holds one and they repeat (2 distinct): "
        "not an identifier")
    assert infos["telephone"].why("zh").startswith("列名提示 CN_PHONE，但其 1,000 个值中没有该类信息")


def test_the_gate_lets_them_be_features_and_privacy_json_says_why(monkeypatch):
    monkeypatch.setenv("BENTU_PSEUDONYM_KEY", "k" * 32)
    df = german_like()
    features = [c for c in df.columns if c != "creditability"]
    out, report = run_privacy_gate(df, features=features, target="creditability")
    pd.testing.assert_frame_equal(out, df)  # nothing to de-identify
    assert report["direct_identifiers"] == [] and report["scan"] == "full"
    tel = report["columns"]["telephone"]
    assert (tel["class"], tel["reason"], tel["header_hint"], tel["operator"]) == (
        "other", "header_not_confirmed", "CN_PHONE", {"op": "none"})
    assert "not an identifier" in tel["why"] and tel["why_zh"]


def test_a_real_identifier_is_still_caught_with_or_without_a_header():
    rng = random.Random(5)
    n = 1000
    # header + values: one in ten telephone values is a real mobile number
    tel = pd.Series([mobile(rng) if i % 10 == 0 else "none" for i in range(n)])
    info = classify_column("telephone", tel)
    assert (info.cls, info.reason, info.main_type) == ("direct_identifier", "header+values", "CN_PHONE")
    assert info.pii["CN_PHONE"] == {"count": 100, "rate": 0.1}
    # no header: the values alone
    info = classify_column("contact_ref", pd.Series([id_number(rng) for _ in range(n)]))
    assert (info.cls, info.reason, info.main_type) == ("direct_identifier", "values", "CN_ID_CARD")
    # a header the detectors cannot confirm by value (Latin names), but every value is distinct
    names = pd.Series([f"{rng.choice('ABCDEFGH')}{rng.randrange(10 ** 6)} {rng.choice(['Smith', 'Li', 'Wang'])}"
                       for _ in range(n)])
    info = classify_column("customer_name", names)
    assert (info.cls, info.reason) == ("direct_identifier", "header+unique")
    # a header with numbers that are not identifiers
    info = classify_column("account_age", pd.Series([rng.randint(1, 30) for _ in range(n)]))
    assert info.cls == "other"


def test_a_real_identifier_as_a_feature_is_refused_with_the_reason():
    rng = random.Random(6)
    df = german_like(400)
    df["telephone"] = [mobile(rng) if i % 10 == 0 else "none" for i in range(400)]
    with pytest.raises(DataError) as err:
        run_privacy_gate(df, features=["telephone", "credit_amount"], target="creditability")
    assert err.value.en.startswith(
        "Column 'telephone' holds direct identifiers (its header suggests CN_PHONE and 10.0% of its 400 values "
        "hold it) and cannot be a model feature.")


def test_a_late_identifier_is_found_by_the_full_scan():
    # the first 2,000 values are clean: a 200-value sample would most likely miss all ten
    rng = random.Random(7)
    values = ["none"] * 2990 + [id_number(rng) for _ in range(10)]
    info = classify_column("remarks", pd.Series(values))
    assert (info.cls, info.reason, info.scanned) == ("other", "some_values", 3000)
    assert info.pii == {"CN_ID_CARD": {"count": 10, "rate": round(10 / 3000, 6)}}


def test_the_german_like_table_runs_with_pii_auto(tmp_path):
    df = german_like(600)
    df["creditability"] = (df["creditability"] == "bad").astype(int)  # positive labels: another task
    df.to_csv(tmp_path / "german.csv", index=False)
    (tmp_path / "german.yaml").write_text(
        "name: german\ndata: {path: german.csv, target: creditability}\nprivacy: {pii: auto}\n"
        "train: {epochs: 1}\ncompress: {int8: false}\naudit: {explain: null, fairness: false}\n"
        "locale: {language: en, rules: [pipl]}\n", encoding="utf-8")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        r = runner.invoke(app, ["run", "german.yaml", "--data", str(tmp_path), "--out", str(tmp_path / "run"),
                                "--quiet", "--lang", "en"])
    finally:
        os.chdir(cwd)
    assert r.exit_code == 0, r.output + r.stderr
    privacy = json.loads((tmp_path / "run" / "privacy.json").read_text(encoding="utf-8"))
    assert privacy["direct_identifiers"] == []
    assert privacy["columns"]["status_of_existing_checking_account"]["reason"] == "header_not_confirmed"
    pre = json.loads((tmp_path / "run" / "model" / "preprocess.json").read_text(encoding="utf-8"))
    assert {"status_of_existing_checking_account", "telephone"} <= {s["name"] for s in pre["categorical"]}


def test_identifiers_in_a_number_column_withhold_the_feature_and_in_a_protected_column_are_replaced(monkeypatch):
    monkeypatch.setenv("BENTU_PSEUDONYM_KEY", "k" * 32)
    rng = random.Random(8)
    df = german_like(1000)
    phones = [mobile(rng) for _ in range(10)]
    df["n_contacts"] = [rng.randint(0, 9) for _ in range(1000)]
    df.loc[990:, "n_contacts"] = [int(p) for p in phones]
    ids = [id_number(rng) for _ in range(5)]
    df["region_group"] = [rng.choice(["north", "south"]) for _ in range(1000)]
    df.loc[995:, "region_group"] = ids
    out, report = run_privacy_gate(df, features=["credit_amount", "n_contacts"], target="creditability",
                                   protected=["region_group"])
    assert report["features_withheld"]["n_contacts"]["en"] == (
        "1.00% of its 1,000 values hold CN_PHONE, too few for an identifier column; numeric, so it is not used "
        "as a model feature")
    assert report["columns"]["n_contacts"]["operator"] == {"op": "withheld"}
    assert report["columns"]["region_group"]["spans_replaced"] == {"CN_ID_CARD": 5}
    assert not out["region_group"].isin(ids).any() and out["region_group"].head(995).equals(df["region_group"].head(995))
    assert out["creditability"].equals(df["creditability"])


def test_a_repeated_pseudonym_never_becomes_a_category_level(monkeypatch):
    # one phone number in six rows of a category column: its pseudonym repeats, but a raw record
    # carries the number, so neither may be a level (both score as __other__)
    from bentu.data.preprocess import TabularPreprocessor

    monkeypatch.setenv("BENTU_PSEUDONYM_KEY", "k" * 32)
    df = german_like(600)
    df["channel"] = ["web", "branch", "phone"] * 200
    df.loc[594:, "channel"] = "13812345678"
    out, report = run_privacy_gate(df, features=["channel"], target="creditability")
    replaced = {"channel": set(out.loc[594:, "channel"])}
    assert len(replaced["channel"]) == 1 and "13812345678" not in replaced["channel"]
    pre = TabularPreprocessor(numeric=[], categorical=["channel"], exclude_levels=replaced).fit(out)
    assert sorted(pre.categorical_[0]["categories"]) == ["branch", "phone", "web"]
    raw_row, train_row = df.loc[[595], ["channel"]], out.loc[[595], ["channel"]]
    np.testing.assert_array_equal(pre.transform(raw_row), pre.transform(train_row))
    assert pre.view(raw_row)["channel"].tolist() == ["__other__"]
