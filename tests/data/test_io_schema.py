import gzip

import numpy as np
import pandas as pd
import pytest

from bentu.data import TabularPreprocessor, binary_target, read_table, resolve_roles, split_rows
from bentu.errors import DataError


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"Data file .*nope.csv does not exist"):
        read_table(tmp_path / "nope.csv")


def test_empty_file_and_header_only(tmp_path):
    (tmp_path / "e.csv").write_text("")
    with pytest.raises(DataError, match=r"e.csv is empty"):
        read_table(tmp_path / "e.csv")
    (tmp_path / "h.csv").write_text("a,b\n")
    with pytest.raises(DataError, match=r"h.csv has no data rows"):
        read_table(tmp_path / "h.csv")


def test_malformed_row_names_line(tmp_path):
    (tmp_path / "m.csv").write_text("a,b,c\n1,2,3\n4,5,6,7\n")
    with pytest.raises(DataError) as e:
        read_table(tmp_path / "m.csv")
    assert "has a malformed row at line 3: expected 3 fields, found 4" in str(e.value)


def test_gbk_file_is_named(tmp_path):
    (tmp_path / "g.csv").write_bytes("姓名,y\n张三,1\n".encode("gbk"))
    with pytest.raises(DataError, match=r"g.csv is not UTF-8 .*GBK/GB18030"):
        read_table(tmp_path / "g.csv")


def test_gzip_csv_reads(tmp_path):
    with gzip.open(tmp_path / "t.csv.gz", "wt") as f:
        f.write("a,y\n1,0\n2,1\n")
    assert read_table(tmp_path / "t.csv.gz").shape == (2, 2)


def test_missing_target_column_lists_columns():
    df = pd.DataFrame({"income": [1, 2], "label": [0, 1]})
    with pytest.raises(DataError) as e:
        resolve_roles(df, source="f.csv", target="lable")
    assert str(e.value).startswith("f.csv: column(s) 'lable' named in data.target not found. Did you mean: 'lable' → 'label'?")
    assert "Columns in the file: income, label." in str(e.value)


def test_non_binary_target():
    df = pd.DataFrame({"y": [0, 1, 2, 1]})
    with pytest.raises(DataError) as e:
        binary_target(df, "y", "f.csv")
    assert "target column 'y' must be binary (0/1) with both classes present; found 3 distinct value(s): 0, 1, 2." in str(e.value)


def test_features_default_to_unassigned_columns():
    df = pd.DataFrame({"id": [1], "x": [1.0], "c": ["a"], "sex": ["m"], "y": [0]})
    roles = resolve_roles(df, source="f", target="y", identifiers=["id"], sensitive=["sex"])
    assert roles.features == ["x", "c"] and roles.categorical == ["c"]


def test_preprocessor_roundtrip_and_unseen_category():
    df = pd.DataFrame({"x": [1.0, np.nan, 3.0, 4.0], "c": ["a", "b", "a", None]})
    pre = TabularPreprocessor(numeric=["x"], categorical=["c"]).fit(df)
    again = TabularPreprocessor.from_dict(pre.to_dict())
    new = pd.DataFrame({"x": [2.0], "c": ["zzz"]})
    assert np.allclose(pre.transform(new), again.transform(new))
    assert again.transform(new)[0, again.feature_names_.index("c=__other__")] == 1.0
    with pytest.raises(DataError, match=r"records: missing column\(s\) 'c' that the model was trained with"):
        pre.transform(pd.DataFrame({"x": [1.0]}), source="records")


def test_stratified_split_is_deterministic_and_disjoint():
    y = np.array([0] * 80 + [1] * 20)
    a, b = split_rows(y, seed=1), split_rows(y, seed=1)
    assert all((getattr(a, k) == getattr(b, k)).all() for k in ("train", "val", "test"))
    assert not set(a.train) & set(a.test) and not set(a.val) & set(a.test)
    assert abs(y[a.test].mean() - 0.2) < 0.05
