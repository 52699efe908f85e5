"""Built-in datasets: simulators the project writes itself, and loaders for published formats.

Tabular datasets are loaded through :func:`load_tabular`; imaging and interaction-log loaders
live in their own modules (``medmnist``, ``images``, ``interactions``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pandas as pd

from bentu.errors import DataError

__all__ = ["load_tabular", "TABULAR_DATASETS", "LoadedTable"]

TABULAR_DATASETS = ("credit-sim", "uci-credit")


class LoadedTable:
    """A loaded table with where it came from (``source`` goes to data_profile.json)."""

    def __init__(self, df: pd.DataFrame, source: dict[str, Any], files: dict[str, Path]):
        self.df, self.source, self.files = df, source, files


def _find(data_path: Path | None, data_root: Path | None, rel: str, how: str) -> Path:
    if data_path is not None and data_path.is_file():
        return data_path
    root = data_path if data_path is not None and data_path.is_dir() else data_root
    candidate = (root / rel) if root is not None else Path(rel)
    if not candidate.exists():
        raise DataError(
            f"Data file {candidate} not found. {how} Then pass its folder or file with --data, "
            "or set BENTU_DATA to the folder that holds it.",
            f"找不到数据文件 {candidate}。{how} 然后用 --data 指定其文件或目录，或将 BENTU_DATA 设为其所在目录。",
        )
    return candidate


def load_tabular(
    *, dataset: str | None, path: str | None, fmt: str | None, options: dict[str, Any],
    data_root: Path | None, data_path: Path | None,
) -> LoadedTable:
    """Load a built-in tabular dataset, or a user's file (``path`` / ``--data``)."""
    from bentu.data.io import read_table, sha256_file

    if dataset == "credit-sim":
        from bentu.datasets.credit_sim import simulate_credit

        df = simulate_credit(**options)
        digest = hashlib.sha256(pd.util.hash_pandas_object(df, index=True).to_numpy().tobytes()).hexdigest()
        return LoadedTable(df, {"dataset": "credit-sim", "generator": "bentu.datasets.credit_sim", "options": options,
                                "rows": len(df), "sha256": digest, "sha256_of": "pandas row hashes of the generated table"}, {})
    if dataset == "uci-credit":
        from bentu.datasets.uci_credit import load_uci_credit

        how = ("Get UCI_Credit_Card.csv from the UCI Machine Learning Repository ('default of credit card "
               "clients') or ../shared/data/uci_default_credit/.")
        table = _find(data_path, data_root, "uci_default_credit/UCI_Credit_Card.csv.gz", how)
        split = table.parent / "fate_homo_split.csv.gz"
        df = load_uci_credit(table, split_path=split if split.exists() else None, **options)
        files = {"table": table, **({"split": split} if split.exists() else {})}
        return LoadedTable(df, {"dataset": "uci-credit", "path": str(table), "sha256": sha256_file(table)}, files)
    if dataset is not None:
        import difflib

        close = difflib.get_close_matches(dataset, TABULAR_DATASETS, n=1)
        raise DataError(
            f"Unknown tabular dataset {dataset!r}.{f' Did you mean {close[0]!r}?' if close else ''} "
            f"Built-in: {', '.join(TABULAR_DATASETS)}; or set data.path to a CSV/Parquet/JSONL file.",
            f"未知的表格数据集 {dataset!r}。内置数据集：{'、'.join(TABULAR_DATASETS)}；也可用 data.path 指定 CSV/Parquet/JSONL 文件。",
        )
    if data_path is not None and data_path.is_file():
        file = data_path
    elif path:
        p = Path(path)
        base = data_path if data_path is not None and data_path.is_dir() else data_root
        file = p if p.is_absolute() or base is None or p.exists() else base / p
    else:
        raise DataError(
            "The recipe names no data: set data.dataset (credit-sim, uci-credit) or data.path, or pass --data FILE.",
            "配方没有指定数据：请设置 data.dataset（credit-sim、uci-credit）或 data.path，或使用 --data FILE。",
        )
    df = read_table(file, fmt)
    return LoadedTable(df, {"path": str(file), "sha256": sha256_file(file), "format": fmt or file.suffix.lstrip(".")}, {"table": file})
