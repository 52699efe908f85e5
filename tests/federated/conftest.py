import pytest
from fedhelpers import make_data


@pytest.fixture
def clients():
    return {"bank_a": make_data(160, 1), "bank_b": make_data(120, 2), "bank_c": make_data(140, 3)}
