"""A user's own table as it comes: any binary label with data.positive, YAML 1.1 enum spellings,
duplicate headers, mostly-numeric text columns, and the German-credit stand-in end to end."""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from bentu.cli.app import app
from bentu.data import binary_target, read_table, resolve_roles
from bentu.errors import DataError
from bentu.recipe import load_recipe

sys.path.insert(0, str(Path(__file__).parent))
from _german_credit import german_credit, write_german_credit  # noqa: E402

runner = CliRunner()


# -- data.positive -------------------------------------------------------------------------------

def test_positive_string_label_is_the_event():
    df = pd.DataFrame({"creditability": ["good", "bad", "good", "bad", "bad"]})
    assert binary_target(df, "creditability", "g.csv", "bad").tolist() == [0, 1, 0, 1, 1]
    assert binary_target(df, "creditability", "g.csv", "good").tolist() == [1, 0, 1, 0, 0]


def test_positive_numeric_and_yaml_boolean_labels():
    df = pd.DataFrame({"y": [1, 2, 2, 1]})
    assert binary_target(df, "y", "f.csv", 2).tolist() == [0, 1, 1, 0]
    df = pd.DataFrame({"churned": ["yes", "no", "yes"]})
    assert binary_target(df, "churned", "f.csv", True).tolist() == [1, 0, 1]  # `positive: yes` in YAML


def test_two_labels_without_positive_names_them_and_the_key():
    df = pd.DataFrame({"creditability": ["good", "bad", "good"]})
    with pytest.raises(DataError) as e:
        binary_target(df, "creditability", "g.csv")
    assert str(e.value) == (
        "g.csv: target column 'creditability' has two labels, 'bad', 'good', and bentu cannot tell which is the "
        "event. Set data.positive to the label of the event (e.g. data.positive: bad).")
    assert "data.positive" in e.value.zh


def test_positive_that_is_not_a_label():
    df = pd.DataFrame({"creditability": ["good", "bad"]})
    with pytest.raises(DataError) as e:
        binary_target(df, "creditability", "g.csv", "default")
    assert str(e.value) == (
        "g.csv: data.positive is 'default', which is not a value of target column 'creditability'; its values "
        "are 'bad', 'good'. Set data.positive to the one that is the event (e.g. default).")


def test_non_binary_target_lists_values_and_keys():
    df = pd.DataFrame({"grade": ["A", "B", "C", "A"]})
    with pytest.raises(DataError) as e:
        binary_target(df, "grade", "f.csv", "A")
    assert str(e.value) == (
        "f.csv: target column 'grade' must be binary (0/1) with both classes present; found 3 distinct value(s): "
        "'A', 'B', 'C'. Set data.target to a column with exactly two values (any two labels: set data.positive "
        "to the one that is the event, e.g. data.positive: bad).")


def test_zero_one_target_still_needs_no_positive():
    assert binary_target(pd.DataFrame({"y": [0, 1, 1]}), "y", "f.csv").tolist() == [0, 1, 1]


# -- YAML 1.1 spellings of enum values -----------------------------------------------------------

def test_unquoted_off_in_yaml_means_off(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("name: r\nprivacy:\n  pii: off\naudit:\n  explain: off\nimaging:\n  balance: no\n")
    r = load_recipe(str(path))
    assert r.privacy.pii == "off" and r.audit.explain is None and r.imaging.balance == "none"


@pytest.mark.parametrize("text,want", [("off", "off"), ("no", "off"), ("false", "off"), ("Off", "off"),
                                       ("on", "auto"), ("yes", "auto"), ("true", "auto"), ("auto", "auto")])
def test_set_pii_accepts_yaml11_spellings(text, want):
    assert load_recipe("credit", [f"privacy.pii={text}"]).privacy.pii == want


def test_other_values_still_fail_with_the_choices():
    from bentu.errors import RecipeError

    with pytest.raises(RecipeError) as e:
        load_recipe("credit", ["privacy.pii=maybe"])
    assert "'privacy.pii': Input should be 'auto' or 'off' (got 'maybe')." in str(e.value)
    with pytest.raises(RecipeError) as e:
        load_recipe("credit", ["audit.explain=yes"])  # no value of explain means "yes"
    assert "'audit.explain': Input should be 'shap', 'gradcam' or 'mastery' (got True)." in str(e.value)


# -- duplicate headers ---------------------------------------------------------------------------

def test_duplicate_header_is_an_error_naming_the_columns(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("income,age,income,y,age\n1,30,2,0,31\n")
    with pytest.raises(DataError) as e:
        read_table(path)
    assert str(e.value) == (
        f"{path} has duplicate column names in its header: 'age' (columns 2, 5); 'income' (columns 1, 3). "
        "Rename them so each column has its own name (bentu does not guess which one is meant).")


def test_header_that_looks_mangled_is_not_a_duplicate(tmp_path):
    path = tmp_path / "ok.csv"
    path.write_text("income,income.1,y\n1,2,0\n")
    assert list(read_table(path).columns) == ["income", "income.1", "y"]


def test_duplicate_names_in_a_parquet_schema_are_caught_too(tmp_path):
    path = tmp_path / "d.parquet"
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_arrays([pa.array([1]), pa.array([2]), pa.array([0])], names=["a", "a", "y"]), path)
    with pytest.raises(DataError, match=r"duplicate column names in its header: 'a' \(columns 1, 2\)"):
        read_table(path)


# -- a mostly numeric column with a few texts ----------------------------------------------------

def _mixed() -> pd.DataFrame:
    income = [str(1000 + 10 * i) for i in range(40)]
    income[3], income[17] = "unknown", "n/a"
    return pd.DataFrame({"income": income, "city": ["a", "b"] * 20, "y": [0, 1] * 20})


def test_mostly_numeric_text_column_warns_with_examples_and_keys(caplog):
    with caplog.at_level(logging.WARNING, logger="bentu.data.schema"):
        roles = resolve_roles(_mixed(), source="m.csv", target="y")
    msg = ("m.csv: column 'income' is 95% numbers but also holds text ('unknown', 'n/a'), so it is treated as "
           "categorical. If it is a number, list it in data.numeric (the texts become missing values); to keep it "
           "categorical and silence this warning, list it in data.categorical.")
    assert [r.getMessage() for r in caplog.records] == [msg]
    assert roles.warnings == [msg] and "income" in roles.categorical and "city" in roles.categorical


def test_the_keys_decide_a_mixed_column(caplog):
    with caplog.at_level(logging.WARNING, logger="bentu.data.schema"):
        as_number = resolve_roles(_mixed(), source="m.csv", target="y", numeric=["income"])
        as_category = resolve_roles(_mixed(), source="m.csv", target="y", categorical=["income"])
    assert not caplog.records
    assert as_number.categorical == ["city"] and "income" in as_number.features
    assert as_category.categorical == ["income", "city"]
    with pytest.raises(DataError, match="listed in both data.categorical and data.numeric"):
        resolve_roles(_mixed(), source="m.csv", target="y", numeric=["income"], categorical=["income"])


# -- the German-credit stand-in, end to end ------------------------------------------------------

def test_stand_in_has_the_public_tables_shape():
    df = german_credit()
    assert df.shape == (1000, 21) and sorted(df["creditability"].unique()) == ["bad", "good"]
    assert 0.25 < (df["creditability"] == "bad").mean() < 0.35
    assert "... < 0 DM" in set(df["status_of_existing_checking_account"]) and "none" in set(df["telephone"])


RECIPE = """\
name: german-credit
application: credit
data:
  path: {path}
  target: creditability
  positive: bad
privacy:
  pii: auto
train:
  epochs: 8
  batch_size: 128
compress:
  int8: no
audit:
  explain: off
"""


@pytest.fixture(scope="module")
def german_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("german")
    data = write_german_credit(base)
    recipe = base / "german.yaml"
    recipe.write_text(RECIPE.format(path=data), encoding="utf-8")
    cwd = os.getcwd()
    os.chdir(base)
    try:
        # not --quiet: progress is on, and CliRunner's stderr is not a terminal (plain lines)
        result = runner.invoke(app, ["run", str(recipe), "--lang", "en", "--out", str(base / "run")])
    finally:
        os.chdir(cwd)
    assert result.exit_code == 0, result.output
    return base, recipe, base / "run", result.stderr


def test_german_credit_runs_with_positive_bad(german_run):
    _, _, run, _ = german_run
    metrics = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["test"]["auc"] > 0.65
    pre = json.loads((run / "model" / "preprocess.json").read_text(encoding="utf-8"))
    assert pre["target"] == "creditability" and pre["positive"] == "bad"
    profile = json.loads((run / "data_profile.json").read_text(encoding="utf-8"))
    assert abs(profile["class_balance"]["positive_rate"] - 0.303) < 0.01  # "bad" is the event
    # pii: auto, and no column forced by hand: headers that name a card or a phone over values
    # that hold none are not identifiers, and privacy.json says why
    cols = json.loads((run / "privacy.json").read_text(encoding="utf-8"))["columns"]
    for name in ("status_of_existing_checking_account", "telephone"):
        assert cols[name]["class"] != "direct_identifier", (name, cols[name])
        assert cols[name]["reason"] == "header_not_confirmed" and cols[name]["why"]


def test_progress_is_one_line_per_recorded_step_when_not_a_terminal(german_run):
    _, _, run, stderr = german_run
    steps = [json.loads(line)["step"] for line in (run / "audit.jsonl").read_text(encoding="utf-8").splitlines()]
    lines = [ln for ln in stderr.splitlines() if ln.startswith("bentu: step ")]
    assert [ln.split()[2] for ln in lines] == steps and "train" in steps and steps[-2:] == ["report", "complete"]
    assert all(re.fullmatch(r"bentu: step \S+ done in \d+\.\d s \(\d+\.\d s in all\)", ln) for ln in lines)


def test_german_credit_without_positive_is_a_clean_error(german_run):
    base, recipe, _, _ = german_run
    result = runner.invoke(app, ["run", str(recipe), "--set", "data.positive=null", "--quiet", "--lang", "en",
                                 "--out", str(base / "run2")])
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert ("target column 'creditability' has two labels, 'bad', 'good', and bentu cannot tell which is the "
            "event. Set data.positive to the label of the event (e.g. data.positive: bad).") in text
    assert "Traceback" not in result.output and not (base / "run2").exists()
