"""Tests of the UCI "default of credit card clients" loader (CSV, CSV.GZ and original XLS)."""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bentu.datasets.uci_credit import UCI_COLUMNS, UCI_ROLES, load_uci_credit
from bentu.errors import DataError, MissingDependencyError

DATA_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "uci_default_credit"
REAL = DATA_DIR / "UCI_Credit_Card.csv.gz"
SPLIT = DATA_DIR / "fate_homo_split.csv.gz"
CSV_LABEL = "default.payment.next.month"
XLS_LABEL = "default payment next month"


@pytest.fixture(scope="module")
def real() -> pd.DataFrame:
    return load_uci_credit(REAL, split_path=SPLIT)


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    """The first 12 rows of the real table, in the CSV layout (label not renamed)."""
    return pd.read_csv(REAL, nrows=12)


def write_csv(sample: pd.DataFrame, path: Path) -> Path:
    """Write ``sample`` as CSV with LIMIT_BAL in scientific notation, as the published file does."""
    text = sample.to_csv(index=False)
    lines = text.splitlines()
    first = lines[1].split(",")
    first[1] = f"{float(first[1]):.0e}"  # e.g. 20000 -> 2e+04
    lines[1] = ",".join(first)
    path.write_text("\n".join(lines) + "\n")
    return path


def write_xls(sample: pd.DataFrame, path: Path) -> Path:
    """Write ``sample`` in the original UCI workbook layout: X1..X23,Y row, then the names."""
    xlwt = pytest.importorskip("xlwt")
    book = xlwt.Workbook()
    sheet = book.add_sheet("Data")
    names = [XLS_LABEL if c == CSV_LABEL else c for c in sample.columns]
    codes = [""] + [f"X{i}" for i in range(1, 24)] + ["Y"]
    for j, (code, name) in enumerate(zip(codes, names)):
        sheet.write(0, j, code)
        sheet.write(1, j, name)
    for i, row in enumerate(sample.itertuples(index=False), start=2):
        for j, value in enumerate(row):
            sheet.write(i, j, float(value))
    book.save(str(path))
    return path


# ---- the real file -------------------------------------------------------------------------


def test_real_file_is_normalised_and_joined(real):
    assert list(real.columns) == UCI_COLUMNS + ["fate_homo_party"]
    assert len(real) == 30_000
    assert (real[UCI_COLUMNS].dtypes == np.int64).all()
    assert real["ID"].tolist() == list(range(1, 30_001))
    assert int(real["default"].sum()) == 6_636
    assert real["SEX"].value_counts().to_dict() == {2: 18_112, 1: 11_888}
    assert real["AGE"].between(21, 79).all()
    assert real["LIMIT_BAL"].max() == 1_000_000  # written 1e+06 in the file
    assert real["fate_homo_party"].value_counts().to_dict() == {
        "fate_guest": 8_000, "fate_host_1": 8_000, "fate_host_2": 8_000, "fate_test": 6_000}


def test_real_file_found_from_its_directory():
    df = load_uci_credit(DATA_DIR)
    assert list(df.columns) == UCI_COLUMNS and len(df) == 30_000


def test_roles_name_columns(real):
    named = [UCI_ROLES["target"], UCI_ROLES["institution"], *UCI_ROLES["identifiers"],
             *UCI_ROLES["sensitive"], *UCI_ROLES["categorical"]]
    assert set(named) <= set(real.columns)
    assert UCI_ROLES["target"] == "default" and UCI_ROLES["identifiers"] == ["ID"]


# ---- published layouts on small fixtures ---------------------------------------------------


def test_csv_gz_and_xls_layouts_load_to_the_same_frame(sample, tmp_path):
    csv = write_csv(sample, tmp_path / "UCI_Credit_Card.csv")
    assert "e+0" in csv.read_text().splitlines()[1]
    gz = tmp_path / "UCI_Credit_Card.csv.gz"
    gz.write_bytes(gzip.compress(csv.read_bytes()))
    xls = write_xls(sample, tmp_path / "default of credit card clients.xls")
    expected = sample.rename(columns={CSV_LABEL: "default"}).astype(np.int64)
    for path in (csv, gz, xls):
        pd.testing.assert_frame_equal(load_uci_credit(path), expected)


def test_xls_without_xlrd_says_how_to_install(sample, tmp_path, monkeypatch):
    xls = write_xls(sample, tmp_path / "default of credit card clients.xls")
    monkeypatch.setitem(sys.modules, "xlrd", None)
    with pytest.raises(MissingDependencyError) as err:
        load_uci_credit(xls)
    assert str(err.value) == (
        f"Reading {xls} (.xls) needs the optional package xlrd; install it with "
        "`pip install xlrd==2.0.2`, or use the CSV layout (UCI_Credit_Card.csv.gz)."
    )


# ---- errors --------------------------------------------------------------------------------


def test_missing_file_names_the_path_and_where_to_get_the_data(tmp_path):
    path = tmp_path / "UCI_Credit_Card.csv"
    with pytest.raises(DataError) as err:
        load_uci_credit(path)
    assert str(err.value) == (
        f"UCI credit data not found: {path} does not exist. Download 'default of credit card "
        "clients' from the UCI Machine Learning Repository (the .xls) or use the copy in "
        "../shared/data/uci_default_credit (UCI_Credit_Card.csv.gz), and pass its path."
    )
    assert str(path) in err.value.zh and "UCI" in err.value.zh


def test_directory_without_the_data(tmp_path):
    with pytest.raises(DataError) as err:
        load_uci_credit(tmp_path)
    assert str(err.value) == (
        f"UCI credit data not found in directory {tmp_path}: expected one of "
        "UCI_Credit_Card.csv.gz, UCI_Credit_Card.csv, default of credit card clients.xls. "
        "Download it from the UCI Machine Learning Repository or use "
        "../shared/data/uci_default_credit."
    )


def test_unsupported_suffix(tmp_path):
    path = tmp_path / "credit.parquet"
    path.write_bytes(b"PAR1")
    with pytest.raises(DataError) as err:
        load_uci_credit(path)
    assert str(err.value) == (
        f"{path}: unsupported file type; expected .csv, .csv.gz or .xls (the UCI layouts)."
    )


def test_missing_columns_are_listed_sorted_and_capped_at_five(sample, tmp_path):
    path = tmp_path / "cut.csv"
    drop = ["SEX", "PAY_AMT6", "AGE", "BILL_AMT3", "PAY_0", "EDUCATION", CSV_LABEL]
    sample.drop(columns=drop).to_csv(path, index=False)
    with pytest.raises(DataError) as err:
        load_uci_credit(path)
    assert str(err.value) == (
        f"{path} lacks required columns ['AGE', 'BILL_AMT3', 'EDUCATION', 'PAY_0', 'PAY_AMT6'] "
        "and 2 more. Expected the UCI 'default of credit card clients' layout (ID, LIMIT_BAL, "
        "SEX, … PAY_AMT6, default.payment.next.month)."
    )


def test_one_missing_column(sample, tmp_path):
    path = tmp_path / "cut.csv"
    sample.drop(columns=["MARRIAGE"]).to_csv(path, index=False)
    with pytest.raises(DataError, match=r"lacks required columns \['MARRIAGE'\]\. Expected"):
        load_uci_credit(path)


def test_non_binary_label(sample, tmp_path):
    path = tmp_path / "label.csv"
    sample.assign(**{CSV_LABEL: [0, 1, 2, 0, 1, 7, 0, 0, 1, 0, 2, 0]}).to_csv(path, index=False)
    with pytest.raises(DataError) as err:
        load_uci_credit(path)
    assert str(err.value) == (
        f"{path}: label column 'default.payment.next.month' must be 0 or 1; got values [2, 7] "
        "(3 rows). Recode the label to 0 = no default, 1 = default."
    )


def test_non_integer_value_names_column_and_row(sample, tmp_path):
    path = tmp_path / "text.csv"
    bad = sample.astype({"BILL_AMT2": object})
    bad.loc[4, "BILL_AMT2"] = "n/a"
    bad.to_csv(path, index=False)
    with pytest.raises(DataError) as err:
        load_uci_credit(path)
    assert str(err.value) == (
        f"{path}: column 'BILL_AMT2' must hold integers; got 'n/a' (row with ID 5). "
        "Fix or remove that value."
    )
    bad.loc[4, "BILL_AMT2"] = ""
    bad.loc[6, "BILL_AMT2"] = "2.5"
    bad.to_csv(path, index=False)
    with pytest.raises(DataError, match=r"got an empty cell \(row with ID 5\)"):
        load_uci_credit(path)
    bad.loc[4, "BILL_AMT2"] = "7"
    bad.to_csv(path, index=False)
    with pytest.raises(DataError, match=r"got 2\.5 \(row with ID 7\)"):
        load_uci_credit(path)


def test_malformed_files_are_data_errors(tmp_path):
    gz = tmp_path / "UCI_Credit_Card.csv.gz"
    gz.write_bytes(gzip.compress(b"ID,LIMIT_BAL\n1,2\n" * 50)[:40])  # truncated
    with pytest.raises(DataError, match=r"could not be read as CSV: .*not truncated\.$"):
        load_uci_credit(gz)
    xls = tmp_path / "default of credit card clients.xls"
    xls.write_bytes(b"this is not a workbook")
    with pytest.raises(DataError, match=r"could not be read as an Excel 97-2003 workbook"):
        load_uci_credit(xls)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError, match=r"^.*empty\.csv could not be read as CSV: "):
        load_uci_credit(empty)


def test_duplicate_ids(sample, tmp_path):
    path = tmp_path / "dup.csv"
    sample.assign(ID=[1, 2, 3, 3, 5, 6, 7, 8, 9, 9, 11, 12]).to_csv(path, index=False)
    with pytest.raises(DataError) as err:
        load_uci_credit(path)
    assert str(err.value) == f"{path}: column 'ID' must be unique; 2 IDs repeat (e.g. [3, 9])."


def test_split_with_other_ids(sample, tmp_path):
    data = tmp_path / "UCI_Credit_Card.csv"
    sample.to_csv(data, index=False)
    split = tmp_path / "fate_homo_split.csv"
    ids = list(range(3, 13)) + [40, 41]
    pd.DataFrame({"ID": ids, "fate_homo_party": "fate_guest"}).to_csv(split, index=False)
    with pytest.raises(DataError) as err:
        load_uci_credit(data, split_path=split)
    assert str(err.value) == (
        f"{split}: IDs do not match the data file {data}: 2 data IDs have no party (e.g. [1, 2]) "
        "and 2 split IDs are not in the data (e.g. [40, 41]). "
        "Use the split file made for this table."
    )


def test_split_joins_in_data_order(sample, tmp_path):
    data = tmp_path / "UCI_Credit_Card.csv"
    sample.to_csv(data, index=False)
    split = tmp_path / "fate_homo_split.csv"
    parties = ["fate_guest" if i % 2 else "fate_host_1" for i in range(12, 0, -1)]
    pd.DataFrame({"ID": range(12, 0, -1), "fate_homo_party": parties}).to_csv(split, index=False)
    df = load_uci_credit(data, split_path=split)
    assert df["fate_homo_party"].tolist() == [
        "fate_guest" if i % 2 else "fate_host_1" for i in range(1, 13)]


def test_split_file_missing_or_without_party_column(sample, tmp_path):
    data = tmp_path / "UCI_Credit_Card.csv"
    sample.to_csv(data, index=False)
    absent = tmp_path / "fate_homo_split.csv.gz"
    with pytest.raises(DataError) as err:
        load_uci_credit(data, split_path=absent)
    assert str(err.value) == (
        f"Split file not found: {absent} does not exist. Use "
        "../shared/data/uci_default_credit/fate_homo_split.csv.gz or pass split_path=None."
    )
    wrong = tmp_path / "split.csv"
    pd.DataFrame({"ID": range(1, 13), "party": "a"}).to_csv(wrong, index=False)
    with pytest.raises(DataError) as err:
        load_uci_credit(data, split_path=wrong)
    assert str(err.value) == (
        f"{wrong} lacks required columns ['fate_homo_party']. Expected a split file with "
        "columns ID, fate_homo_party."
    )


def test_a_damaged_deflate_stream_is_a_clear_error(tmp_path):
    import gzip

    from bentu.datasets.uci_credit import load_uci_credit
    from bentu.errors import DataError

    raw = gzip.compress(("ID,LIMIT_BAL\n" + "1,2000\n" * 5000).encode())
    bad = raw[:40] + bytes(b ^ 0x5A for b in raw[40:200]) + raw[200:]  # corrupt the deflate data, keep the header
    (tmp_path / "UCI_Credit_Card.csv.gz").write_bytes(bad)
    with pytest.raises(DataError) as err:
        load_uci_credit(tmp_path / "UCI_Credit_Card.csv.gz")
    assert "UCI_Credit_Card.csv.gz" in str(err.value)
