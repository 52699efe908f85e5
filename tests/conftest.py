"""Shared test fixtures. Real datasets are read from ../shared/data (never copied)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"

torch.set_num_threads(1)
os.environ.setdefault("BENTU_LANG", "en")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    assert SHARED_DATA.is_dir(), f"../shared/data is missing at {SHARED_DATA}"
    return SHARED_DATA
