"""Fixtures of the inference tests: a small run directory (see _inference_runs.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from _inference_runs import build_run_dir


@pytest.fixture(scope="session")
def run_dir_master(tmp_path_factory) -> Path:
    """A pristine run directory, built once per test session (do not modify it)."""
    return build_run_dir(tmp_path_factory.mktemp("runs"))


@pytest.fixture()
def run_dir(run_dir_master, tmp_path) -> Path:
    """A private copy of the run directory that a test may change."""
    dst = tmp_path / run_dir_master.name
    shutil.copytree(run_dir_master, dst)
    return dst
