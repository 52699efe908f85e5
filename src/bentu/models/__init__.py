"""NETWORK LAYER: the model registry and one module per model family."""

from bentu.models._registry import ModelEntry, create_model, example_inputs, get_entry, list_models, register_model
from bentu.models import tabular  # noqa: F401  (registers tabular models)
from bentu.models import sequence  # noqa: F401
from bentu.models import graph  # noqa: F401
from bentu.models import irt  # noqa: F401  (registers the Bayesian IRT tracer)
from bentu.models import vision  # noqa: F401  (registers vision models)

__all__ = ["ModelEntry", "create_model", "example_inputs", "get_entry", "list_models", "register_model"]
