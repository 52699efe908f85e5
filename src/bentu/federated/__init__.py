"""Federated training on Flower: learn from every institution without pooling their data.

:func:`train_federated` runs Flower's ServerApp/ClientApp (message API) around bentu's Trainer,
in Flower's simulation or on real SuperLink/SuperNode processes; :func:`compare_federation`
trains pooled, federated and institution-alone models and scores them on one test set.
"""

from bentu.federated._core import FederatedResult, train_federated
from bentu.federated.compare import compare_federation
from bentu.federated.strategies import STRATEGIES, resolve_strategy

__all__ = ["FederatedResult", "STRATEGIES", "compare_federation", "resolve_strategy", "train_federated"]
