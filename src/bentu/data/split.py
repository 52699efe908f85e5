"""Train / validation / test splits: stratified at random, or predefined by a column."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from bentu.errors import DataError

__all__ = ["Split", "split_rows"]


@dataclass
class Split:
    """Row positions (into the loaded table) of each part."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "val": len(self.val), "test": len(self.test)}


def split_rows(
    y: np.ndarray,
    *,
    test: float = 0.2,
    val: float = 0.1,
    seed: int = 0,
    stratify: bool = True,
    predefined: pd.Series | None = None,
    test_values: list[str] | None = None,
    source: str = "data",
) -> Split:
    """Split rows into train/val/test.

    With ``predefined`` (a column) rows whose value is in ``test_values`` form the test set, and
    validation rows are drawn (stratified) from the rest; otherwise a stratified random split.
    """
    idx = np.arange(len(y))
    strat = y if stratify else None
    if predefined is not None:
        values = predefined.astype(str).to_numpy()
        is_test = np.isin(values, list(test_values or []))
        if not is_test.any():
            present = ", ".join(sorted(map(str, pd.unique(values)))[:10])
            raise DataError(
                f"{source}: data.split.column {predefined.name!r} has no rows with test value(s) "
                f"{test_values}; values present: {present}.",
                f"{source}：data.split.column {predefined.name!r} 中没有取值为 {test_values} 的测试行；现有取值：{present}。",
            )
        test_idx, rest = idx[is_test], idx[~is_test]
        frac = val / (1 - len(test_idx) / len(idx))
        train_idx, val_idx = train_test_split(rest, test_size=frac, random_state=seed,
                                              stratify=y[rest] if stratify else None)
        return Split(np.sort(train_idx), np.sort(val_idx), np.sort(test_idx))
    counts = np.bincount(y.astype(int), minlength=2)
    if stratify and counts.min() < 3:
        raise DataError(
            f"{source}: the rarer class has only {counts.min()} row(s); a stratified split needs at least 3.",
            f"{source}：较少的类别只有 {counts.min()} 行；分层划分至少需要 3 行。",
        )
    rest, test_idx = train_test_split(idx, test_size=test, random_state=seed, stratify=strat)
    train_idx, val_idx = train_test_split(rest, test_size=val / (1 - test), random_state=seed,
                                          stratify=y[rest] if stratify else None)
    return Split(np.sort(train_idx), np.sort(val_idx), np.sort(test_idx))
