"""Bad input gets a clear error before any Flower process starts."""

import socket

import pytest
from typer.testing import CliRunner

from bentu.errors import ConfigError, DataError, RecipeError
from bentu.federated import train_federated
from bentu.federated.deploy import run_deployment
from bentu.recipe import FederatedCfg, TrainCfg

from fedhelpers import flower_processes, make_data, tiny_mlp


def _run(clients, tmp_path, **cfg):
    return train_federated(model_fn=tiny_mlp, clients=clients, val=None, cfg=FederatedCfg(**cfg), train=TrainCfg(),
                           workdir=tmp_path)


def test_fewer_clients_than_min_clients(tmp_path):
    with pytest.raises(DataError) as exc:
        _run({"bank_a": make_data(10, 1), "bank_b": make_data(10, 2)}, tmp_path, min_clients=3)
    assert str(exc.value) == ("The federation has 2 client(s) (bank_a, bank_b), fewer than federated.min_clients=3. "
                              "Add institutions, or lower federated.min_clients.")


def test_empty_client(tmp_path):
    with pytest.raises(DataError, match=r"Client\(s\) bank_b hold no rows."):
        _run({"bank_a": make_data(10, 1), "bank_b": make_data(0, 2)}, tmp_path)


def test_unknown_strategy(tmp_path):
    with pytest.raises(RecipeError, match=r"Unknown federated.strategy 'krumm'. Did you mean 'krum'\?"):
        _run({"bank_a": make_data(10, 1), "bank_b": make_data(10, 2)}, tmp_path, strategy="krumm")


def test_taken_port_is_named_and_nothing_is_left(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        manifest = {"clients": ["a", "b"], "rounds": 1, "round_timeout": 10, "options": {"ports": {"superlink": port}}}
        with pytest.raises(ConfigError) as exc:
            run_deployment(tmp_path, manifest)
    assert str(exc.value) == (
        f"Port {port} on 127.0.0.1 is already in use, so the SuperLink cannot start. Stop the process that holds it, "
        "or choose other ports in federated.options.ports (or leave it unset for free ports).")
    assert flower_processes(str(tmp_path)) == []


def test_cli_unknown_strategy_is_one_clean_message():
    import typer

    from bentu.cli.federate import federate

    app = typer.Typer()
    app.command()(federate)
    app.command("other")(lambda: None)
    result = CliRunner().invoke(app, ["federate", "credit-uci", "--set", "federated.strategy=fedavgg", "--lang", "en"])
    assert result.exit_code == 2
    assert "Unknown federated.strategy 'fedavgg'. Did you mean 'fedavg'?" in result.output
    assert "Traceback" not in result.output
