import pytest
import torch

from bentu.errors import ConfigError
from bentu.models import create_model, example_inputs, list_models


def test_unknown_model_suggests_close_match():
    with pytest.raises(ConfigError, match=r"^Unknown model 'tabular_mpl'. Did you mean 'tabular_mlp'\?"):
        create_model("tabular_mpl", in_features=3)


def test_unknown_parameter_is_named():
    with pytest.raises(ConfigError, match=r"Model 'tabular_mlp' got unknown parameter\(s\) 'hiden'"):
        create_model("tabular_mlp", in_features=3, hiden=[4])


def test_list_models_by_pattern():
    assert "tabular_mlp" in list_models("tab*")
    assert list_models("zzz*") == []


def test_tabular_output_shape():
    m = create_model("tabular_mlp", in_features=5, hidden=[7]).eval()
    (x,) = example_inputs("tabular_mlp", batch_size=3, in_features=5)
    assert m(x).shape == (3,)
