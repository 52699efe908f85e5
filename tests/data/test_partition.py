import numpy as np
import pandas as pd
import pytest

from bentu.data.partition import partition_rows, partition_summary
from bentu.errors import DataError


def test_institution_values_become_client_names():
    groups = pd.Series(["bank_b", "bank_a", "bank_b", "bank_c", "bank_a"])
    parts = partition_rows(groups=groups, scheme="institution", column="lender")
    assert list(parts) == ["bank_a", "bank_b", "bank_c"]
    assert parts["bank_b"].tolist() == [0, 2]
    assert sorted(np.concatenate(list(parts.values())).tolist()) == list(range(5))


def test_iid_covers_every_row_once_in_equal_shares():
    parts = partition_rows(n_rows=103, scheme="iid", num_clients=4, seed=1)
    assert list(parts) == ["client_0", "client_1", "client_2", "client_3"]
    rows = np.concatenate(list(parts.values()))
    assert sorted(rows.tolist()) == list(range(103))
    assert {len(r) for r in parts.values()} <= {25, 26}
    assert partition_rows(n_rows=103, scheme="iid", num_clients=4, seed=1)["client_2"].tolist() == parts["client_2"].tolist()


def test_dirichlet_small_alpha_skews_label_rates():
    y = np.random.default_rng(0).integers(0, 2, 4000)
    skewed = partition_summary(partition_rows(labels=y, scheme="dirichlet", num_clients=4, alpha=0.5, seed=1), y)
    even = partition_summary(partition_rows(labels=y, scheme="dirichlet", num_clients=4, alpha=100.0, seed=0), y)
    spread = lambda s: np.ptp([v["label_rate"] for v in s.values()])  # noqa: E731
    assert spread(skewed) > 0.5 > 0.1 > spread(even)
    assert sum(v["rows"] for v in skewed.values()) == 4000


def test_institution_column_with_one_value():
    with pytest.raises(DataError) as exc:
        partition_rows(groups=np.array(["bank_a"] * 10), column="lender")
    assert str(exc.value) == (
        "Column 'lender' has a single value 'bank_a': every row belongs to one institution, so there is nothing "
        "to federate. Use a column with two or more institutions, or federated.clients: iid / dirichlet."
    )
    assert "列 'lender' 只有一个值 'bank_a'" in exc.value.zh


def test_fewer_institutions_than_clients_needed():
    with pytest.raises(DataError) as exc:
        partition_rows(groups=["a", "b", "a"], num_clients=3, column="lender")
    assert str(exc.value) == (
        "Column 'lender' has 2 institutions (a, b), fewer than the 3 clients needed. Lower "
        "federated.num_clients / federated.min_clients, or use federated.clients: iid."
    )


def test_iid_needs_two_clients_and_enough_rows():
    with pytest.raises(DataError, match=r"The 'iid' partition needs federated.num_clients >= 2. Got None instead."):
        partition_rows(n_rows=10, scheme="iid")
    with pytest.raises(DataError, match=r"Cannot split 3 rows into 5 clients"):
        partition_rows(n_rows=3, scheme="iid", num_clients=5)


def test_empty_client_is_an_error():
    y = np.array([0] * 6 + [1] * 2)
    with pytest.raises(DataError) as exc:
        partition_rows(labels=y, scheme="dirichlet", num_clients=8, alpha=0.01, seed=0)
    assert str(exc.value).startswith("The 'dirichlet' partition left client(s) ")
    assert str(exc.value).endswith("without any rows. Raise federated.alpha (less skew), use fewer clients, or change train.seed.")


def test_unknown_scheme_suggests_close_match():
    with pytest.raises(DataError, match=r"Unknown partition scheme 'diriclet'. Did you mean 'dirichlet'\?"):
        partition_rows(n_rows=10, scheme="diriclet", num_clients=2)
