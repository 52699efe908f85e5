"""Record-level DP-SGD inside every federated client (train.dp with a federation)."""

import json

import pytest
import torch
from fedhelpers import flower_processes, make_data
from opacus.accountants import RDPAccountant

from bentu.errors import ConfigError
from bentu.federated import train_federated
from bentu.models import create_model
from bentu.recipe import FederatedCfg, TrainCfg


def ln_mlp() -> torch.nn.Module:
    torch.manual_seed(0)
    return create_model("tabular_mlp", in_features=6, hidden=[8], norm="layer")


def bn_mlp() -> torch.nn.Module:
    torch.manual_seed(0)
    return create_model("tabular_mlp", in_features=6, hidden=[8])


TRAIN = TrainCfg(batch_size=32, lr=1e-2, seed=0, dp={"epsilon": 3.0, "max_grad_norm": 1.0})


def test_federated_dp_sgd_simulation(clients, tmp_path):
    res = train_federated(model_fn=ln_mlp, clients=clients, val=make_data(200, 9),
                          cfg=FederatedCfg(enabled=True, rounds=2, client_cpus=0.5), train=TRAIN, workdir=tmp_path)
    dp = res.dp
    # δ defaults to 1 / (10 · rows of the smallest client): bank_b has 120 rows.
    assert dp["delta"] == pytest.approx(1 / 1200)
    assert set(dp["per_client"]) == {"bank_a", "bank_b", "bank_c"}
    for name, n in (("bank_a", 160), ("bank_b", 120), ("bank_c", 140)):
        c = dp["per_client"][name]
        spe = -(-n // 32)  # ceil: Poisson-sampled steps per epoch
        assert (c["rows"], c["sample_rate"], c["steps"]) == (n, pytest.approx(1 / spe), 2 * spe)
        acc = RDPAccountant()  # the same epsilon from Opacus's accountant, stepped independently
        for _ in range(2 * spe):
            acc.step(noise_multiplier=c["noise_multiplier"], sample_rate=1 / spe)
        assert c["epsilon"] == pytest.approx(acc.get_epsilon(delta=1 / 1200), rel=1e-9)
        assert 2.9 < c["epsilon"] <= 3.0
    # The federation's epsilon is the worst client's (disjoint records), not the sum.
    assert dp["epsilon"] == max(c["epsilon"] for c in dp["per_client"].values())
    assert dp["accountant"] == "rdp" and dp["max_grad_norm"] == 1.0
    assert {"en", "zh"} <= set(dp["protects"]) and {"en", "zh"} <= set(dp["does_not_protect"])
    assert "one institution" in dp["protects"]["en"] and "disjoint" in dp["composition"]["en"]
    # Each client trained with the noise planned for it (a smaller client: fewer steps, less noise needed).
    plan = json.loads((tmp_path / "federation.json").read_text(encoding="utf-8"))["record_dp"]
    assert {n: c["noise_multiplier"] for n, c in plan["per_client"].items()} == {
        n: c["noise_multiplier"] for n, c in dp["per_client"].items()}
    assert res.to_dict()["dp"] == dp
    assert len(res.rounds) == 2 and not res.dropped
    assert flower_processes(str(tmp_path)) == []


def test_federated_dp_refuses_batch_norm_before_starting(clients, tmp_path):
    with pytest.raises(ConfigError, match=r"^DP-SGD \(train.dp\) cannot train this model: Opacus refuses its layers "
                                          r"body.1 \(BatchNorm1d\)\."):
        train_federated(model_fn=bn_mlp, clients=clients, val=None, cfg=FederatedCfg(enabled=True, rounds=1),
                        train=TRAIN, workdir=tmp_path)
    assert not (tmp_path / "federation.json").exists()


def test_federated_dp_refuses_fedprox(clients, tmp_path):
    with pytest.raises(ConfigError) as err:
        train_federated(model_fn=ln_mlp, clients=clients, val=None,
                        cfg=FederatedCfg(enabled=True, rounds=1, strategy="fedprox"), train=TRAIN, workdir=tmp_path)
    assert str(err.value).startswith("train.dp cannot be combined with federated.strategy 'fedprox': the proximal "
                                     "term's gradient would bypass the per-record clipping")
