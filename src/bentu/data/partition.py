"""Partitions: which rows each client (institution) of a federation holds.

Three schemes:

- ``institution``: rows are owned by the value of an institution column (a lender, a hospital);
  the values become the client names. This is the real-world case.
- ``iid``: rows are shuffled and dealt into ``num_clients`` equal shares.
- ``dirichlet``: label skew; for each label, the share of its rows that goes to each client is
  drawn from Dirichlet(``alpha``) (small ``alpha``: clients see very different label rates).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bentu.errors import DataError

__all__ = ["SCHEMES", "partition_rows", "partition_summary"]

SCHEMES = ("institution", "iid", "dirichlet")


def partition_rows(
    *,
    n_rows: int | None = None,
    labels: np.ndarray | None = None,
    groups: pd.Series | np.ndarray | None = None,
    scheme: str = "institution",
    num_clients: int | None = None,
    alpha: float = 0.5,
    seed: int = 0,
    column: str | None = None,
) -> dict[str, np.ndarray]:
    """Assign row indices to clients.

    Parameters
    ----------
    n_rows : int, optional
        Number of rows (taken from ``labels`` or ``groups`` when omitted).
    labels : ndarray, optional
        Binary labels; required by ``dirichlet``.
    groups : Series or ndarray, optional
        The institution of each row; required by ``institution``.
    scheme : {"institution", "iid", "dirichlet"}
    num_clients : int, optional
        Number of clients for ``iid`` / ``dirichlet`` (required there); for ``institution``,
        the number of institutions expected at least.
    alpha : float
        Dirichlet concentration (``dirichlet`` only).
    seed : int
    column : str, optional
        Name of the institution column, used in error messages.

    Returns
    -------
    dict
        Client name → sorted row indices (int64). Names are the institution values, or
        ``client_0`` … ``client_{k-1}``.

    Raises
    ------
    DataError
        An institution column with a single value, fewer clients than needed, or a client
        that would hold no rows.
    """
    if scheme not in SCHEMES:
        import difflib

        close = difflib.get_close_matches(str(scheme), SCHEMES, n=1, cutoff=0.4)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise DataError(
            f"Unknown partition scheme {scheme!r}.{hint} Valid schemes: {', '.join(SCHEMES)}.",
            f"未知的划分方式 {scheme!r}。{('您是否想写 %r？' % close[0]) if close else ''}可用：{', '.join(SCHEMES)}。",
        )
    if scheme == "institution":
        return _by_institution(groups, num_clients, column)
    n = _row_count(n_rows, labels, groups)
    k = _check_num_clients(num_clients, scheme, n)
    rng = np.random.default_rng(seed)
    if scheme == "iid":
        shares = np.array_split(rng.permutation(n), k)
    else:
        if labels is None:
            raise DataError(
                "The 'dirichlet' partition needs the labels of the rows (label skew). Got none.",
                "'dirichlet' 划分需要各行的标签（标签偏斜），但没有提供。",
            )
        shares = _dirichlet(np.asarray(labels), k, alpha, rng)
    parts = {f"client_{i}": np.sort(np.asarray(s, dtype=np.int64)) for i, s in enumerate(shares)}
    _check_not_empty(parts, scheme)
    return parts


def _row_count(n_rows: int | None, labels: np.ndarray | None, groups: object) -> int:
    if n_rows is not None:
        return int(n_rows)
    for arr in (labels, groups):
        if arr is not None:
            return len(arr)
    raise DataError(
        "partition_rows needs n_rows, labels or groups to know how many rows there are.",
        "partition_rows 需要 n_rows、labels 或 groups 之一来确定行数。",
    )


def _check_num_clients(num_clients: int | None, scheme: str, n: int) -> int:
    if num_clients is None or num_clients < 2:
        raise DataError(
            f"The {scheme!r} partition needs federated.num_clients >= 2. Got {num_clients!r} instead.",
            f"{scheme!r} 划分需要 federated.num_clients >= 2，实际为 {num_clients!r}。",
        )
    if num_clients > n:
        raise DataError(
            f"Cannot split {n} rows into {num_clients} clients: each client needs at least one row. "
            "Use fewer clients.",
            f"无法把 {n} 行分给 {num_clients} 个客户端：每个客户端至少需要一行。请减少客户端数。",
        )
    return int(num_clients)


def _by_institution(groups: object, num_clients: int | None, column: str | None) -> dict[str, np.ndarray]:
    col = column or "institution"
    if groups is None:
        raise DataError(
            f"The 'institution' partition needs an institution column (data.institution). Got none. "
            "Set data.institution in the recipe, or use federated.clients: iid / dirichlet.",
            "'institution' 划分需要机构列（data.institution），但没有提供。请在配方中设置 data.institution，"
            "或改用 federated.clients: iid / dirichlet。",
        )
    values = pd.Series(np.asarray(groups, dtype=object))
    missing = int(values.isna().sum())
    if missing:
        raise DataError(
            f"Column {col!r} has {missing} rows without an institution (missing values). "
            "Every row must belong to one institution: fill or drop those rows.",
            f"列 {col!r} 有 {missing} 行没有机构（缺失值）。每一行都必须属于一个机构：请填充或删除这些行。",
        )
    names = values.astype(str)
    uniques = sorted(names.unique())
    if len(uniques) == 1:
        raise DataError(
            f"Column {col!r} has a single value {uniques[0]!r}: every row belongs to one institution, "
            "so there is nothing to federate. Use a column with two or more institutions, or "
            "federated.clients: iid / dirichlet.",
            f"列 {col!r} 只有一个值 {uniques[0]!r}：所有行属于同一个机构，无法联邦。请使用至少有两个机构的列，"
            "或改用 federated.clients: iid / dirichlet。",
        )
    if num_clients is not None and len(uniques) < num_clients:
        raise DataError(
            f"Column {col!r} has {len(uniques)} institutions ({', '.join(uniques[:5])}), fewer than the "
            f"{num_clients} clients needed. Lower federated.num_clients / federated.min_clients, or "
            "use federated.clients: iid.",
            f"列 {col!r} 只有 {len(uniques)} 个机构（{', '.join(uniques[:5])}），少于所需的 {num_clients} 个客户端。"
            "请调低 federated.num_clients / federated.min_clients，或改用 federated.clients: iid。",
        )
    codes = names.to_numpy()
    return {name: np.flatnonzero(codes == name).astype(np.int64) for name in uniques}


def _dirichlet(labels: np.ndarray, k: int, alpha: float, rng: np.random.Generator) -> list[np.ndarray]:
    """Per label, split its rows among ``k`` clients by Dirichlet(alpha) proportions."""
    shares: list[list[np.ndarray]] = [[] for _ in range(k)]
    for label in np.unique(labels):
        rows = rng.permutation(np.flatnonzero(labels == label))
        props = rng.dirichlet(np.full(k, alpha))
        cuts = (np.cumsum(props)[:-1] * len(rows)).astype(int)
        for i, part in enumerate(np.split(rows, cuts)):
            shares[i].append(part)
    return [np.concatenate(s) if s else np.zeros(0, dtype=np.int64) for s in shares]


def _check_not_empty(parts: dict[str, np.ndarray], scheme: str) -> None:
    empty = sorted(name for name, rows in parts.items() if len(rows) == 0)
    if empty:
        raise DataError(
            f"The {scheme!r} partition left client(s) {', '.join(empty[:5])} without any rows. "
            "Raise federated.alpha (less skew), use fewer clients, or change train.seed.",
            f"{scheme!r} 划分使客户端 {', '.join(empty[:5])} 没有任何数据行。请调高 federated.alpha（减小偏斜）、"
            "减少客户端数，或更换 train.seed。",
        )


def partition_summary(parts: dict[str, np.ndarray], labels: np.ndarray | None = None) -> dict[str, dict]:
    """Per-client row counts and label rates: ``{name: {"rows": n, "label_rate": r}}``."""
    out: dict[str, dict] = {}
    for name, rows in parts.items():
        entry: dict = {"rows": int(len(rows))}
        if labels is not None:
            y = np.asarray(labels)[rows]
            entry["label_rate"] = float(np.mean(y)) if len(y) else float("nan")
        out[name] = entry
    return out
