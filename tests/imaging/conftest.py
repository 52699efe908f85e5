"""Shared fixtures of the imaging tests: small MedMNIST-format files cut from the real data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
BREAST = SHARED / "medmnist" / "breastmnist.npz"
PNEUMONIA = SHARED / "medmnist" / "pneumoniamnist.npz"


@pytest.fixture(autouse=True)
def _one_thread_and_private_cache(tmp_path_factory, monkeypatch):
    torch.set_num_threads(1)
    monkeypatch.setenv("BENTU_CACHE", str(tmp_path_factory.mktemp("cache")))


def write_subset(src: Path, dst: Path, n: dict[str, int], seed: int = 0) -> Path:
    """Write a small stratified MedMNIST-format file: ``n[split]`` images per class from ``src``."""
    rng = np.random.default_rng(seed)
    d = np.load(src)
    out = {}
    for split, k in n.items():
        y = d[f"{split}_labels"].ravel()
        idx = np.sort(np.concatenate([rng.choice(np.flatnonzero(y == c), k, replace=False) for c in (0, 1)]))
        out[f"{split}_images"] = d[f"{split}_images"][idx]
        out[f"{split}_labels"] = d[f"{split}_labels"][idx]
    dst.parent.mkdir(parents=True, exist_ok=True)
    np.savez(dst, **out)
    return dst


@pytest.fixture
def tiny_root(tmp_path: Path) -> Path:
    """A data root with tiny breastmnist.npz and pneumoniamnist.npz files under medmnist/."""
    write_subset(BREAST, tmp_path / "medmnist" / "breastmnist.npz", {"train": 16, "val": 6, "test": 8})
    write_subset(PNEUMONIA, tmp_path / "medmnist" / "pneumoniamnist.npz", {"train": 16, "val": 6, "test": 4})
    return tmp_path
