"""One Flower simulation (Ray): pooled vs federated vs local, with a client failing every round."""

import matplotlib.figure

from bentu.audit.metrics import binary_metrics
from bentu.federated import compare_federation
from bentu.report.plots import rounds_plot
from bentu.recipe import FederatedCfg, TrainCfg

from fedhelpers import make_data, tiny_mlp


def test_compare_with_a_failing_client(clients, tmp_path, capfd):
    cfg = FederatedCfg(enabled=True, rounds=2, min_clients=2, options={"fail": {"client": "bank_c", "every_round": True}})
    train = TrainCfg(epochs=3, batch_size=32, patience=2)
    pooled = make_data(420, 7)
    comp = compare_federation(evaluate=binary_metrics, model_fn=tiny_mlp, clients=clients, pooled_train=pooled, val=make_data(200, 8),
                              test=make_data(300, 9), cfg=cfg, train=train, workdir=tmp_path)
    fed = comp["federated"]
    # the failing client dropped in every round; the run completed with the other two
    assert fed["dropped"] == {"bank_c": [1, 2]}
    assert [r["participants"] for r in fed["rounds"]] == [["bank_a", "bank_b"]] * 2
    assert all(r["aggregated"] and r["bytes_up"] > 0 and r["bytes_down"] > 0 for r in fed["rounds"])
    assert fed["runtime"] == "simulation" and fed["strategy"] == "fedavg"
    assert fed["test"]["auc"] > 0.65 and comp["pooled"]["test"]["auc"] > 0.65
    assert set(comp["local"]) == {"bank_a", "bank_b", "bank_c"} and comp["local"]["bank_b"]["rows"] == 120
    assert comp["clients"]["bank_a"]["rows"] == 160 and 0 < comp["clients"]["bank_a"]["label_rate"] < 1
    assert isinstance(rounds_plot(comp), matplotlib.figure.Figure)
    assert (tmp_path / "federated" / "flower.log").exists()
    assert capfd.readouterr().out == ""  # Flower's and Ray's logs stay out of stdout
