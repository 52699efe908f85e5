"""A real deployment on loopback: SuperLink + 3 SuperNodes, one round, nothing left behind."""

from bentu.federated import train_federated
from bentu.recipe import FederatedCfg, TrainCfg

from fedhelpers import flower_processes, make_data, tiny_mlp


def test_deploy_three_clients_and_no_process_left(clients, tmp_path):
    cfg = FederatedCfg(enabled=True, deploy=True, rounds=1, round_timeout=120)
    res = train_federated(model_fn=tiny_mlp, clients=clients, val=make_data(200, 8), cfg=cfg,
                          train=TrainCfg(batch_size=32), workdir=tmp_path)
    assert res.runtime == "deploy"
    assert [r["participants"] for r in res.rounds] == [["bank_a", "bank_b", "bank_c"]]
    assert res.rounds[0]["val_auc"] > 0.6
    assert (tmp_path / "logs" / "superlink.log").exists() and (tmp_path / "app" / "pyproject.toml").exists()
    assert flower_processes(str(tmp_path)) == []
