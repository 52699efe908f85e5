"""SecAgg+ with record-level DP-SGD in a real deployment on loopback (SuperLink + 3 SuperNodes)."""

from fedhelpers import flower_processes, make_data
from test_dp_sgd import TRAIN, ln_mlp

from bentu.federated import train_federated
from bentu.recipe import FederatedCfg


def test_secagg_with_dp_sgd_deployed_equals_fedavg_within_quantisation(clients, tmp_path):
    val = make_data(200, 8)
    sec = train_federated(model_fn=ln_mlp, clients=clients, val=val, train=TRAIN, workdir=tmp_path / "secagg",
                          cfg=FederatedCfg(enabled=True, deploy=True, rounds=1, round_timeout=180, strategy="secagg"))
    plain = train_federated(model_fn=ln_mlp, clients=clients, val=val, train=TRAIN, workdir=tmp_path / "fedavg",
                            cfg=FederatedCfg(enabled=True, rounds=1, client_cpus=0.5))
    assert sec.runtime == "deploy" and sec.strategy == "secagg"
    # The clients' DP-SGD noise is seeded by round and client, so both runs aggregate the same noisy
    # client models: SecAgg+'s masked, quantised sum equals FedAvg's up to the quantisation step.
    diff = max(float((a - b).abs().max()) for a, b in zip(sec.model.state_dict().values(),
                                                         plain.model.state_dict().values()))
    assert diff < 1e-5, diff
    assert sec.dp == plain.dp and sec.dp["epsilon"] <= 3.0
    assert sec.best_round == plain.best_round == 1
    assert flower_processes(str(tmp_path)) == []
