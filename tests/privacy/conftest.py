"""Shared fixtures for the privacy tests."""

import random

import pandas as pd
import pytest

from bentu.privacy._corpus import _id18, _name, make_value

KEY = "unit-test-key-0123456789abcdef"


@pytest.fixture
def key_env(monkeypatch):
    monkeypatch.setenv("BENTU_PSEUDONYM_KEY", KEY)
    return KEY


@pytest.fixture
def credit_df():
    """A small table shaped like the credit simulator's output."""
    rng = random.Random(3)
    n = 400
    return pd.DataFrame({
        "name": [_name(rng) for _ in range(n)],
        "id_card": [_id18(rng) for _ in range(n)],
        "mobile": [rng.choice(("138", "159", "186")) + f"{rng.randrange(10**8):08d}" for _ in range(n)],
        "sex": [rng.choice(("男", "女")) for _ in range(n)],
        "age": [rng.randint(20, 70) for _ in range(n)],
        "province": [rng.choice(("广东", "浙江", "四川", "北京", "新疆", "河南")) for _ in range(n)],
        "hukou": [rng.choice(("urban", "rural")) for _ in range(n)],
        "lender": [rng.choice(("A", "B", "C")) for _ in range(n)],
        "income": [round(rng.uniform(2000, 40000), 2) for _ in range(n)],
        "loan_amount": [rng.randint(1000, 200000) for _ in range(n)],
        "default": [rng.randint(0, 1) for _ in range(n)],
    })


@pytest.fixture
def sample_values():
    rng = random.Random(1)
    return {t: make_value(t, rng) for t in ("CN_PHONE", "BANK_CARD", "PERSON", "ADDRESS")}
