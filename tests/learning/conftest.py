"""Fixtures of the learning tests."""

from __future__ import annotations

import pytest

from _learning_helpers import make_ctx


@pytest.fixture
def ctx_factory(tmp_path):
    return lambda recipe, overrides=(), data_path=None, lang="en": make_ctx(tmp_path, recipe, list(overrides), data_path, lang)
