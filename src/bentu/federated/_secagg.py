"""Secure aggregation (SecAgg+) with Flower's legacy workflow.

Flower 1.42 offers SecAgg+ only on its legacy API: a ``NumPyClient`` behind ``secaggplus_mod``
and ``DefaultWorkflow(fit_workflow=SecAggPlusWorkflow(...))`` on the server. The server sees only
the masked sum of the clients' (weighted, quantised) models. Local training is the same
:func:`bentu.federated._apps.local_train` as in the message-API apps, so with a fine quantisation
the result equals plain FedAvg up to quantisation error.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import torch
from flwr.app import Context

from bentu.federated._apps import _model_fn, _workdir, load_arrays, local_train, model_arrays, server_start
from bentu.metrics import roc_auc
from bentu.train import Trainer

__all__ = ["build_secagg_apps", "secagg_params", "server_app", "client_app"]  # flwr run finds apps by name here


def secagg_params(man: dict) -> dict:
    """SecAgg+ settings: every client shares its key with all others; the quantisation range is
    as fine as the 2**32 modulus allows for this many clients (no overflow of the masked sum)."""
    n = len(man["clients"])
    opts = man["options"]
    bits = 32 - math.ceil(math.log2(n + 1))
    return {
        "num_shares": float(opts.get("num_shares", 1.0)),
        "reconstruction_threshold": float(opts.get("reconstruction_threshold", 0.67)),
        "max_weight": float(max(man["rows"].values())),
        "clipping_range": float(opts.get("clipping_range", 16.0)),
        "quantization_range": int(opts.get("quantization_range", 2 ** bits)),
        "modulus_range": 2 ** 32,
    }


def build_secagg_apps(workdir: str | None = None):
    """A legacy ServerApp running SecAgg+ FedAvg and a ClientApp with ``secaggplus_mod``."""
    from flwr.client import ClientApp, NumPyClient
    from flwr.client.mod import secaggplus_mod
    from flwr.common import ndarrays_to_parameters
    from flwr.server import LegacyContext, ServerApp, ServerConfig
    from flwr.server.strategy import FedAvg as LegacyFedAvg
    from flwr.server.workflow import DefaultWorkflow, SecAggPlusWorkflow

    class _Client(NumPyClient):
        def __init__(self, wd: Path, pid: int):
            self.wd, self.pid = wd, pid
            self.dtypes = {k: v.dtype for k, v in model_arrays(_model_fn(wd)()).items()}
            self.keys = list(self.dtypes)

        def fit(self, parameters, config):
            arrays = {k: np.asarray(v, dtype=self.dtypes[k]) for k, v in zip(self.keys, parameters)}
            new, n, loss = local_train(self.wd, self.pid, arrays, int(config["server-round"]))
            return [new[k] for k in self.keys], n, {"train-loss": loss}

    def client_fn(context: Context):
        return _Client(_workdir(context, workdir), int(context.node_config["partition-id"])).to_client()

    client = ClientApp(client_fn=client_fn, mods=[secaggplus_mod])
    server = ServerApp()

    @server.main()
    def _main(grid, context: Context) -> None:
        _, man, out, model, initial, val = server_start(context, workdir)
        keys = list(initial)
        evaluator = Trainer(batch_size=man["local"]["batch_size"])
        state = {"best": -math.inf, "best_round": 0, "last": initial, "t": time.perf_counter()}
        rounds_file = (out / "rounds.jsonl").open("w", encoding="utf-8")
        n = len(man["clients"])

        def evaluate(server_round, parameters, config):
            arrays = {k: np.asarray(v, dtype=initial[k].dtype) for k, v in zip(keys, parameters)}
            load_arrays(model, arrays)
            auc = roc_auc(*evaluator.predict_proba(model, val)[::-1]) if val is not None else float("nan")
            now = time.perf_counter()
            rec = {"round": server_round, "val_auc": auc, "seconds": now - state["t"], "participants": list(man["clients"]),
                   "dropped": [], "aggregated": True, "secure_aggregation": "secagg+",
                   "bytes_down": int(sum(a.nbytes for a in parameters)) * n}
            state["t"], state["last"] = now, arrays
            rounds_file.write(json.dumps(rec) + "\n")
            rounds_file.flush()
            if server_round == 0 or (not math.isnan(auc) and auc > state["best"]):
                state["best"], state["best_round"] = auc, server_round
                torch.save({k: torch.from_numpy(np.array(v)) for k, v in arrays.items()}, out / "best.pt")
            return 0.0, {"val-auc": 0.0 if math.isnan(auc) else auc}

        strategy = LegacyFedAvg(
            fraction_fit=1.0, fraction_evaluate=0.0, min_fit_clients=n, min_available_clients=n,
            min_evaluate_clients=0, initial_parameters=ndarrays_to_parameters([initial[k] for k in keys]),
            on_fit_config_fn=lambda rnd: {"server-round": rnd}, evaluate_fn=evaluate,
        )
        legacy = LegacyContext(context=context, config=ServerConfig(num_rounds=man["rounds"], round_timeout=man["round_timeout"]),
                               strategy=strategy)
        try:
            DefaultWorkflow(fit_workflow=SecAggPlusWorkflow(**secagg_params(man), timeout=man["round_timeout"]))(grid, legacy)
        finally:
            rounds_file.close()
        torch.save({k: torch.from_numpy(np.array(v)) for k, v in state["last"].items()}, out / "final.pt")
        (out / "summary.json").write_text(json.dumps({"best_round": state["best_round"], "privacy_spent": None,
                                                      "secagg": secagg_params(man)}), encoding="utf-8")

    return server, client


# Loaded by a deployment (``flwr run``) when the strategy is secagg.
server_app, client_app = build_secagg_apps(None)
