"""Aggregation math, strategy names and option checks: fast, no Flower runtime."""

import numpy as np
import pytest
from flwr.app import Array, ArrayRecord, MetricRecord, RecordDict
from flwr.serverapp.strategy.strategy_utils import aggregate_arrayrecords

from bentu.errors import RecipeError
from bentu.federated._aggregate import dp_epsilon, noise_for_epsilon, poison_update, update_norm, weighted_mean
from bentu.federated.strategies import build_strategy, check_options, privacy_plan, resolve_strategy


def _arrays(seed):
    rng = np.random.default_rng(seed)
    return {"w": rng.normal(size=(3, 2)).astype(np.float32), "b": rng.normal(size=2).astype(np.float32)}


def test_weighted_mean_matches_flower_fedavg():
    clients, weights = [_arrays(i) for i in range(3)], [100, 50, 25]
    records = [RecordDict({"arrays": ArrayRecord({k: Array(v) for k, v in a.items()}),
                           "metrics": MetricRecord({"num-examples": w})}) for a, w in zip(clients, weights)]
    flower = aggregate_arrayrecords(records, "num-examples")
    ours = weighted_mean(clients, weights)
    for k in ours:
        np.testing.assert_allclose(flower[k].numpy(), ours[k], rtol=1e-6)


def test_poison_sign_flip_and_scale():
    old, new = _arrays(0), _arrays(1)
    flipped = poison_update(new, old, "sign_flip", 10.0)
    scaled = poison_update(new, old, "scale", 3.0)
    np.testing.assert_allclose(flipped["w"] - old["w"], -10 * (new["w"] - old["w"]), rtol=1e-5)
    np.testing.assert_allclose(scaled["b"] - old["b"], 3 * (new["b"] - old["b"]), rtol=1e-5)
    assert update_norm(flipped, old) == pytest.approx(10 * update_norm(new, old), rel=1e-5)


def test_noise_for_epsilon_inverts_the_accountant():
    nm = noise_for_epsilon(4.0, rounds=20, clients=3, delta=1e-5)
    assert dp_epsilon(nm, 20, 3, 1e-5) <= 4.0 < dp_epsilon(nm * 0.99, 20, 3, 1e-5)
    assert noise_for_epsilon(1.0, 20, 3, 1e-5) > nm > noise_for_epsilon(8.0, 20, 3, 1e-5)


def test_privacy_plan_reports_epsilon_and_delta():
    plan = privacy_plan("dp_server_fixed", {"epsilon": 8, "clipping_norm": 0.5}, rounds=10, clients=3)
    assert plan["epsilon"] <= 8 and plan["delta"] == 1e-5 and plan["clipping_norm"] == 0.5
    assert privacy_plan("fedavg", {}, rounds=10, clients=3) is None


def test_unknown_strategy_suggests_the_closest():
    with pytest.raises(RecipeError) as exc:
        resolve_strategy("fedprx")
    assert str(exc.value) == (
        "Unknown federated.strategy 'fedprx'. Did you mean 'fedprox'? Valid strategies: fedavg, fedprox, "
        "trimmed_mean, median, krum, dp_server_fixed, dp_client_fixed, secagg."
    )


def test_fault_options_must_name_a_client():
    with pytest.raises(RecipeError, match=r"federated.options.poison.client must be one of the clients \(a, b\). Got 'z' instead."):
        check_options({"poison": {"client": "z"}}, ["a", "b"])
    with pytest.raises(RecipeError, match=r"poison.mode must be one of sign_flip, scale. Got 'flip' instead."):
        check_options({"poison": {"client": "a", "mode": "flip"}}, ["a", "b"])


@pytest.mark.parametrize("name,cls", [("fedavg", "FedAvg"), ("fedprox", "FedProx"), ("trimmed_mean", "FedTrimmedAvg"),
                                      ("median", "FedMedian"), ("krum", "Krum"),
                                      ("dp_server_fixed", "DifferentialPrivacyServerSideFixedClipping"),
                                      ("dp_client_fixed", "DifferentialPrivacyClientSideFixedClipping")])
def test_strategies_are_flowers_own(name, cls):
    s = build_strategy(name, {"epsilon": 8}, clients=3, min_clients=2, rounds=5)
    assert type(s).__name__ == cls and type(s).__module__.startswith("flwr.serverapp.strategy")
