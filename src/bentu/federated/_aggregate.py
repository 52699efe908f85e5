"""Pure NumPy pieces of federated aggregation, testable without a server.

Model updates are dicts ``name -> ndarray``; the global model of the round is ``old``.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "POISON_MODES", "poison_update", "weighted_mean", "update_norm", "nbytes",
    "dp_epsilon", "noise_for_epsilon",
]

POISON_MODES = ("sign_flip", "scale")


def poison_update(new: dict[str, np.ndarray], old: dict[str, np.ndarray], mode: str, scale: float) -> dict[str, np.ndarray]:
    """A poisoned client's weights: its update ``new - old`` scaled (``scale``) or reversed and
    scaled (``sign_flip``), added back to ``old``. Used by tests and benchmarks only."""
    sign = -1.0 if mode == "sign_flip" else 1.0
    return {k: (old[k] + sign * scale * (new[k] - old[k])).astype(new[k].dtype) for k in new}


def weighted_mean(arrays: list[dict[str, np.ndarray]], weights: list[float]) -> dict[str, np.ndarray]:
    """FedAvg's weighted mean of client weights (weights need not sum to one)."""
    w = np.asarray(weights, dtype=np.float64)
    w = w / w.sum()
    return {k: sum(wi * a[k].astype(np.float64) for wi, a in zip(w, arrays)).astype(arrays[0][k].dtype) for k in arrays[0]}


def update_norm(new: dict[str, np.ndarray], old: dict[str, np.ndarray]) -> float:
    """L2 norm of the whole update ``new - old`` (what DP clipping bounds)."""
    return float(math.sqrt(sum(float(np.sum((new[k].astype(np.float64) - old[k]) ** 2)) for k in new)))


def nbytes(arrays: dict[str, np.ndarray]) -> int:
    """Bytes of the array payload of one model message."""
    return int(sum(a.nbytes for a in arrays.values()))


def _accountant(population: int, delta: float):
    from flwr.supercore.privacy_accounting import NeighboringRelation, PrivacyConfig, SamplingMethod
    from flwr.supercore.privacy_accounting.rdp_accountant import RdpAccountant

    cfg = PrivacyConfig(
        target_delta=delta, population_size=population,
        neighboring_relation=NeighboringRelation.ADD_OR_REMOVE_ONE,
        sampling_method=SamplingMethod.NO_AMPLIFICATION,
    )
    return RdpAccountant(cfg)


def dp_epsilon(noise_multiplier: float, rounds: int, clients: int, delta: float) -> float:
    """ε after ``rounds`` Gaussian releases of the clipped sum of ``clients`` updates (RDP,
    client-level, no sampling amplification: every client takes part in every round)."""
    from flwr.supercore.privacy_accounting import GaussianPrivacyEvent

    acc = _accountant(clients, delta)
    acc.compose(GaussianPrivacyEvent(noise_multiplier=noise_multiplier, sample_size=clients, population_size=clients), rounds)
    return float(acc.get_privacy_spent().epsilon)


def noise_for_epsilon(epsilon: float, rounds: int, clients: int, delta: float) -> float:
    """The smallest noise multiplier whose ε after ``rounds`` rounds is at most ``epsilon``."""
    lo, hi = 1e-2, 1.0
    while dp_epsilon(hi, rounds, clients, delta) > epsilon:
        lo, hi = hi, hi * 2
        if hi > 1e6:
            raise ValueError(f"No noise multiplier reaches epsilon={epsilon}.")
    for _ in range(40):
        mid = math.sqrt(lo * hi)
        if dp_epsilon(mid, rounds, clients, delta) > epsilon:
            lo = mid
        else:
            hi = mid
        if hi / lo < 1.001:
            break
    return hi
