"""A user's CSV with identity and mobile numbers planted late (rows > 2,000) in a free-text and a
categorical column, taken through `bentu run` and `bentu serve` as a user would:

- no planted number (nor its digits written another way) is in any file of the run directory,
  in the run's log or output, or in any response of the server, with and without an API key;
- train/serve parity: k-anonymity generalises two features (age is banded, occupation becomes
  "*"), and raw rows scored by `Predictor` and by `bentu serve` get the pipeline's own test
  scores to 1e-6; `/v1/explain` gives the run's reason codes; `bentu monitor` on the training
  file itself finds PSI < 0.01 for every feature.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import re

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from bentu.cli.app import app
from bentu.data.io import read_table
from bentu.inference import Predictor
from bentu.inference.serve import add_key, create_app

runner = CliRunner()
N = 3000
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def id_number(rng: random.Random) -> str:
    """A valid 18-digit resident identity number (GB 11643-1999 check digit)."""
    area = rng.choice(("110101", "310104", "440305", "510107", "420102"))
    birth = f"{rng.randint(1960, 2000)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    body = area + birth + f"{rng.randrange(1000):03d}"
    return body + _CHECK[sum(int(d) * w for d, w in zip(body, _WEIGHTS)) % 11]


def mobile(rng: random.Random) -> str:
    return rng.choice(("138", "139", "150", "159", "186", "188")) + f"{rng.randrange(10 ** 8):08d}"


NOTES = ["paid on time", "late once", "late twice", "asked for a limit increase", "new customer",
         "按时还款", "逾期一次", "申请提额", "老客户", "changed employer", "moved house", "no remarks"]


def make_table(seed: int = 0) -> tuple[pd.DataFrame, list[str]]:
    rng = random.Random(seed)
    npr = np.random.default_rng(seed)
    age = npr.integers(21, 66, N)
    income = np.round(npr.lognormal(9.0, 0.5, N), 2)
    amount = npr.integers(1, 200, N) * 500
    segment = npr.choice(["retail", "sme", "salaried", "self_employed", "student"], N, p=[.3, .2, .3, .15, .05])
    occupation = npr.choice([f"occ_{i:02d}" for i in range(40)], N)
    sex = npr.choice(["F", "M"], N)
    note = [f"{rng.choice(NOTES)} ({rng.randint(1, 60)} days)" for _ in range(N)]
    logit = (-1.0 - 0.6 * (np.log(income) - 9.0) + 0.000004 * amount + 0.02 * (45 - age)
             + np.where(segment == "student", 0.8, 0.0) + np.where(segment == "sme", 0.4, 0.0))
    bad = (npr.random(N) < 1 / (1 + np.exp(-logit))).astype(int)
    df = pd.DataFrame({"age": age, "income": income, "loan_amount": amount, "segment": segment,
                       "occupation": occupation, "sex": sex, "note": note, "bad": bad})
    planted = []
    rows = rng.sample(range(2001, N), 40)
    for k, row in enumerate(rows):
        value = id_number(rng) if k % 2 == 0 else mobile(rng)
        planted.append(value)
        if k < 20:
            df.loc[row, "note"] = f"客户提供号码 {value} 已核实" if k % 4 < 2 else f"call back on {value} please"
        else:
            df["segment"] = df["segment"].astype(object)
            df.loc[row, "segment"] = value
    return df, planted


RECIPE = """\
name: leaky
data:
  path: book.csv
  target: bad
  sensitive: [sex]
privacy: {k_anonymity: 5, quasi_identifiers: [age, occupation, sex]}
train: {epochs: 2, batch_size: 256}
compress: {int8: false}
locale: {language: en, rules: [pipl]}
"""


def forms(number: str) -> list[str]:
    """The planted number and other ways its digits can be written."""
    out = {number, number.lower()}
    digits = re.sub(r"\D", "", number)
    out.add(digits)
    if len(number) == 18:
        out |= {f"{number[:6]} {number[6:14]} {number[14:]}", f"{number[:6]}-{number[6:14]}-{number[14:]}"}
    else:
        out |= {f"{number[:3]} {number[3:7]} {number[7:]}", f"{number[:3]}-{number[3:7]}-{number[7:]}",
                f"+86{number}", f"{float(number):.10e}", repr(float(number))}
    return sorted(out)


def find_leaks(text: str, planted: list[str]) -> list[str]:
    squeezed = re.sub(r"[\s\-.+]", "", text)  # digits split by separators or written as a float
    return sorted({p for p in planted if any(f in text for f in forms(p)) or re.sub(r"\D", "", p)[:17] in squeezed})


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(self.format(record))


@pytest.fixture(scope="module")
def leaky(tmp_path_factory):
    base = tmp_path_factory.mktemp("leak")
    df, planted = make_table()
    df.to_csv(base / "book.csv", index=False)
    (base / "leaky.yaml").write_text(RECIPE, encoding="utf-8")
    handler = _Collect()
    root = logging.getLogger()
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    cwd = os.getcwd()
    os.chdir(base)
    try:
        result = runner.invoke(app, ["run", str(base / "leaky.yaml"), "--data", str(base), "--out", str(base / "run"),
                                     "--quiet", "--lang", "en"])
    finally:
        os.chdir(cwd)
        root.removeHandler(handler)
        root.setLevel(old)
    assert result.exit_code == 0, result.output + result.stderr
    return {"base": base, "run": base / "run", "planted": planted, "df": df, "output": result.output + result.stderr,
            "log": "\n".join(handler.lines)}


def _files_text(run_dir) -> dict[str, str]:
    out = {}
    for path in sorted(run_dir.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            out[path.relative_to(run_dir).as_posix()] = data.decode("utf-8", "replace") + data.decode("utf-16-le", "ignore")
    return out


def test_the_planted_numbers_are_real_and_late(leaky):
    from bentu.privacy.detectors import detect

    df, planted = leaky["df"], leaky["planted"]
    assert len(planted) == 40 and sum(len(p) == 18 for p in planted) == 20 and sum(len(p) == 11 for p in planted) == 20
    for p in planted:
        assert [s.type for s in detect(p)] == (["CN_ID_CARD"] if len(p) == 18 else ["CN_PHONE"])
        rows = df.index[df["note"].str.contains(p, regex=False) | (df["segment"] == p)]
        assert len(rows) == 1 and rows[0] > 2000
    # the planted values sit in a free-text and in a categorical column: 20 in each
    assert df["note"].str.contains("|".join(planted)).sum() == 20 and df["segment"].isin(planted).sum() == 20


def test_privacy_json_says_the_columns_were_scanned_in_full(leaky):
    privacy = json.loads((leaky["run"] / "privacy.json").read_text(encoding="utf-8"))
    assert privacy["scan"] == "full"
    for col in ("note", "segment"):
        c = privacy["columns"][col]
        assert c["scan"] == "full" and c["scanned"] == N and c["class"] == "other" and c["reason"] == "some_values"
        assert set(c["detector_types"]) >= {"CN_ID_CARD", "CN_PHONE"}
        assert c["operator"]["op"] == "per-span" and sum(c["spans_replaced"].values()) == 20


def test_no_planted_number_in_any_file_of_the_run_or_its_log(leaky):
    files = _files_text(leaky["run"])
    assert {"model/preprocess.json", "model/reference.json", "report.html", "explanations/reason_codes.json",
            "privacy.json", "data_profile.json", "audit.jsonl"} <= set(files)
    leaks = {name: find_leaks(text, leaky["planted"]) for name, text in files.items()}
    assert {k: v for k, v in leaks.items() if v} == {}
    assert find_leaks(leaky["output"], leaky["planted"]) == [] and find_leaks(leaky["log"], leaky["planted"]) == []


def test_the_test_would_see_a_leak(leaky, tmp_path):
    # the scan above is not vacuous: the raw CSV and a copy of a number in a JSON file are found
    assert len(set(find_leaks((leaky["base"] / "book.csv").read_text(encoding="utf-8"), leaky["planted"]))) == 40
    p = leaky["planted"][1]
    assert find_leaks(json.dumps({"x": float(p)}), [p]) == [p]
    assert find_leaks(f"{p[:3]} {p[3:7]} {p[7:]}", [p]) == [p]


def _records(df: pd.DataFrame) -> list[dict]:
    out = []
    for r in df.drop(columns=["bad", "sex"]).to_dict("records"):  # sex: audited, not a feature
        out.append({k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()})
    return out


@pytest.mark.parametrize("with_key", [False, True])
def test_no_planted_number_in_any_server_response(leaky, tmp_path, with_key, caplog):
    run, planted, df = leaky["run"], leaky["planted"], leaky["df"]
    keys = tmp_path / "keys.txt" if with_key else None
    key = add_key(keys) if with_key else None
    late = _records(df.loc[df["segment"].isin(planted) | df["note"].str.contains("|".join(planted))])
    assert len(late) == 40
    bad_number = {**late[0], "income": late[0]["segment"]}  # an ID sent where a number belongs
    texts = []
    caplog.set_level(logging.DEBUG)
    with TestClient(create_app(run, api_keys_file=keys, decision_log=tmp_path / "decisions.jsonl")) as c:
        for auth in ([{}] if not with_key else [{}, {"Authorization": f"Bearer {key}"}]):
            calls = [c.get("/openapi.json", headers=auth), c.get("/docs", headers=auth), c.get("/redoc", headers=auth),
                     c.get("/v1/model", headers=auth), c.head("/v1/model", headers=auth), c.get("/healthz", headers=auth),
                     c.get("/readyz", headers=auth),
                     c.post("/v1/predict", json={"records": late}, headers=auth),
                     c.post("/v1/explain", json={"records": late}, headers=auth),
                     c.post("/v1/predict", json={"records": [bad_number]}, headers=auth),
                     c.post("/v1/explain", json={"records": late, "extra": planted[0]}, headers=auth),
                     c.post("/v1/score", json={"records": late}, headers=auth)]
            texts += [r.text + json.dumps(dict(r.headers)) for r in calls]
            codes = [r.status_code for r in calls]
            if with_key and not auth:  # every /v1 call is refused before its body is read
                assert codes == [200, 404, 404, 401, 401, 200, 200, 401, 401, 401, 401, 401]
            else:
                assert codes == [200, 404, 404, 200, 200, 200, 200, 200, 200, 422, 422, 404]
    texts.append(caplog.text)
    texts.append((tmp_path / "decisions.jsonl").read_text(encoding="utf-8"))
    assert [find_leaks(t, planted) for t in texts] == [[] for _ in texts]


# ------------------------------------------------------------------------ train/serve parity


def test_k_anonymity_generalised_features_the_model_uses(leaky):
    privacy = json.loads((leaky["run"] / "privacy.json").read_text(encoding="utf-8"))
    steps = privacy["k_anonymity"]["steps"]
    assert steps["age"]["op"] == "band" and steps["occupation"] == {"op": "star"}
    pre = json.loads((leaky["run"] / "model" / "preprocess.json").read_text(encoding="utf-8"))
    assert pre["generalise"] == {"age": steps["age"], "occupation": {"op": "star"}}
    assert next(s for s in pre["categorical"] if s["name"] == "occupation")["categories"] == ["*"]


@pytest.fixture(scope="module")
def test_rows(leaky):
    codes = json.loads((leaky["run"] / "explanations" / "reason_codes.json").read_text(encoding="utf-8"))
    raw = read_table(leaky["base"] / "book.csv")  # the user's raw file, before any privacy step
    idx = [r["source_row"] for r in codes["rows"]]
    want = 1 / (1 + np.exp(-np.array([r["logit"] for r in codes["rows"]])))
    return raw.iloc[idx].reset_index(drop=True), want, codes["rows"]


def test_predictor_and_server_score_raw_rows_as_the_pipeline_did(leaky, test_rows, tmp_path):
    raw, want, _ = test_rows
    assert len(raw) >= 500
    got = Predictor.from_run_dir(leaky["run"], "fp32").predict_proba(raw)
    np.testing.assert_allclose(got, want, atol=1e-6, rtol=0)
    with TestClient(create_app(leaky["run"], variant="fp32", decision_log=tmp_path / "d.jsonl")) as c:
        r = c.post("/v1/predict", json={"records": _records(raw)})
    assert r.status_code == 200
    served = np.array([p["score"] for p in r.json()["predictions"]])
    np.testing.assert_allclose(served, want, atol=1e-6, rtol=0)


def test_explain_gives_the_runs_reason_codes_for_100_rows(leaky, test_rows, tmp_path):
    raw, _, rows = test_rows
    with TestClient(create_app(leaky["run"], variant="fp32", decision_log=tmp_path / "d.jsonl")) as c:
        r = c.post("/v1/explain", json={"records": _records(raw.head(100))})
    assert r.status_code == 200
    served = r.json()["explanations"]
    assert len(served) == 100
    n_reasons = 0
    for mine, run in zip(served, rows[:100]):
        got = [(x["feature"], x["direction"], x["text"], x["text_zh"]) for x in mine["reasons"]]
        exp = [(e["feature"], e["direction"], e["text"], z["text"]) for e, z in zip(run["reasons_en"], run["reasons_zh"])]
        assert got == exp
        np.testing.assert_allclose([x["contribution"] for x in mine["reasons"]],
                                   [e["contribution"] for e in run["reasons_en"]], atol=1e-5)
        n_reasons += len(got)
    assert n_reasons >= 100
    # the generalised feature is quoted as the model saw it, never as the raw value
    quoted = " ".join(x["text"] for e in served for x in e["reasons"] if x["feature"] == "occupation")
    assert "occ_" not in quoted


def test_monitor_on_the_training_file_finds_no_drift(leaky):
    result = runner.invoke(app, ["monitor", str(leaky["run"]), str(leaky["base"] / "book.csv"), "--format", "json",
                                 "--lang", "en"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    psi = {name: f["psi"] for name, f in report["features"].items()}
    assert set(psi) == {"age", "income", "loan_amount", "segment", "occupation", "note"}
    assert max(psi.values()) < 0.01, psi
