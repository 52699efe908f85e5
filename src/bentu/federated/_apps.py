"""The Flower apps (message API) around bentu's Trainer.

Everything an app needs lives in a work directory written by :func:`bentu.federated.train_federated`:
``federation.json`` (the plan), ``model_fn.pkl`` (how to build the model), ``clients/*.pt`` (each
client's data), ``val.pt``; the ServerApp writes ``result/`` (rounds, best and final weights).
The same apps run in Flower's simulation (Ray actors) and in a deployment (SuperLink + SuperNodes),
where ``workdir`` comes from the run config.
"""

from __future__ import annotations

import json
import logging
import math
import time
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import cloudpickle
import numpy as np
import torch
from flwr.app import Array, ArrayRecord, ConfigRecord, Context, Message, MessageType, MetricRecord, RecordDict
from flwr.clientapp import ClientApp
from flwr.serverapp import Grid, ServerApp
from torch import nn

from bentu.federated._aggregate import poison_update
from bentu.federated._data import load_dataset
from bentu.federated._dp import client_dp_spec
from bentu.federated.strategies import Monitored, build_strategy
from bentu.metrics import roc_auc
from bentu.train import Trainer, seed_everything

__all__ = ["build_apps", "server_app", "client_app", "model_arrays", "load_arrays"]

log = logging.getLogger(__name__)

KEY_CLIPPING_NORM = "clipping_norm"


# -- shared helpers -------------------------------------------------------------------------

def _workdir(context: Context, default: str | None) -> Path:
    return Path(default if default is not None else str(context.run_config["workdir"]))


@lru_cache(maxsize=4)
def _manifest(workdir: Path) -> dict[str, Any]:
    return json.loads((workdir / "federation.json").read_text(encoding="utf-8"))


@lru_cache(maxsize=4)
def _model_fn(workdir: Path) -> Callable[[], nn.Module]:
    return cloudpickle.loads((workdir / "model_fn.pkl").read_bytes())


@lru_cache(maxsize=1)
def _cached_model(workdir: Path) -> nn.Module:
    return _model_fn(workdir)()


def model_arrays(model: nn.Module) -> dict[str, np.ndarray]:
    """What travels: the floating-point entries of the state dict, less frozen parameters.

    Integer counters stay local, and so do parameters that do not train (a LoRA adapter's base
    model, a transferred layer that is frozen): every party builds them identically from the
    model builder, so only the trained part crosses the Flower boundary.
    """
    frozen = {n for n, p in model.named_parameters(remove_duplicate=False) if not p.requires_grad}  # tied too
    return {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()
            if v.is_floating_point() and k not in frozen}


def load_arrays(model: nn.Module, arrays: dict[str, np.ndarray]) -> None:
    """Load federated arrays into ``model`` (a noisy variance is kept positive)."""
    state = {k: torch.from_numpy(np.array(v, copy=True)) for k, v in arrays.items()}
    for k, v in state.items():
        if k.endswith("running_var"):
            v.clamp_(min=1e-5)  # DP noise can push a batch-norm variance below zero
    model.load_state_dict(state, strict=False)


def _to_record(arrays: dict[str, np.ndarray]) -> ArrayRecord:
    return ArrayRecord({k: Array(np.ascontiguousarray(v)) for k, v in arrays.items()})


def _from_record(record: ArrayRecord) -> dict[str, np.ndarray]:
    return {k: a.numpy() for k, a in record.items()}


# -- ClientApp ------------------------------------------------------------------------------

def _inject_failure(spec: dict | None, name: str, server_round: int) -> None:
    """Test facility: make a named client fail (raise) or hang in chosen rounds."""
    if not spec or spec.get("client") != name:
        return
    if not (spec.get("every_round") or server_round in spec.get("rounds", [])):
        return
    if spec.get("mode", "raise") == "hang":
        time.sleep(float(spec.get("seconds", 3600)))
        return
    raise RuntimeError(f"injected failure of client {name!r} in round {server_round}")


def _prox_term(model: nn.Module, mu: float) -> Callable[[nn.Module], torch.Tensor]:
    anchor = [p.detach().clone() for p in model.parameters() if p.requires_grad]

    def term(m: nn.Module) -> torch.Tensor:  # FedProx: (mu / 2) * ||w - w_global||^2 over what trains
        return 0.5 * mu * sum(((p - a) ** 2).sum() for p, a in zip((q for q in m.parameters() if q.requires_grad), anchor))

    return term


def local_train(workdir: Path, pid: int, arrays: dict[str, np.ndarray], server_round: int, mu: float = 0.0) -> tuple[dict[str, np.ndarray], int, float]:
    """Train client ``pid`` from the global ``arrays`` for ``local_epochs``; return its weights."""
    man = _manifest(workdir)
    name = man["clients"][pid]
    _inject_failure(man["options"].get("fail"), name, server_round)
    torch.set_num_threads(1)
    objective = man.get("objective", "binary")
    # A language model's frozen base is the same every round: build it once per client process and
    # only load the travelling (adapter) arrays; a small model is rebuilt, as before.
    model = _cached_model(workdir) if objective == "causal_lm" else _model_fn(workdir)()
    load_arrays(model, arrays)
    data = load_dataset(workdir / "clients" / man["files"][pid])
    local = man["local"]
    dp = client_dp_spec(man["record_dp"], name) if man.get("record_dp") else None
    trainer = Trainer(
        optimizer=local["optimizer"], lr=local["lr"], weight_decay=local["weight_decay"],
        epochs=local["epochs"], batch_size=local["batch_size"], patience=local["epochs"] + 1,
        pos_weight=local["pos_weight"] if objective == "binary" else None,
        seed=man["seed"] + 1000 * server_round + pid, objective=objective,
        extra_loss=_prox_term(model, mu) if mu > 0 else None, dp=dp,
    ).fit(model, data, None)
    new = model_arrays(model)
    poison = man["options"].get("poison")
    if poison and poison.get("client") == name:
        new = poison_update(new, arrays, poison.get("mode", "sign_flip"), float(poison.get("scale", 1.0)))
    return new, len(data), float(trainer.history_[-1]["train_loss"])


def _client_train(msg: Message, context: Context, default: str | None) -> Message:
    workdir = _workdir(context, default)
    pid = int(context.node_config["partition-id"])
    config = msg.content["config"]
    arrays = _from_record(msg.content["arrays"])
    new, n, loss = local_train(workdir, pid, arrays, int(config["server-round"]), float(config.get("proximal-mu", 0.0)))
    metrics = MetricRecord({"num-examples": n, "unit": 1, "train-loss": loss, "partition-id": pid})
    return Message(content=RecordDict({"arrays": _to_record(new), "metrics": metrics}), reply_to=msg)


def _client_query(msg: Message, context: Context) -> Message:
    pid = int(context.node_config["partition-id"])
    return Message(content=RecordDict({"metrics": MetricRecord({"partition-id": pid})}), reply_to=msg)


def _clip_when_asked(msg: Message, context: Context, call_next: Callable) -> Message:
    """Flower's ``fixedclipping_mod`` when the server asks for client-side clipping."""
    from flwr.clientapp.mod import fixedclipping_mod

    config = next(iter(msg.content.config_records.values()), {})
    if KEY_CLIPPING_NORM in config:
        return fixedclipping_mod(msg, context, call_next)
    return call_next(msg, context)


# -- ServerApp ------------------------------------------------------------------------------

def _discover(grid: Grid, n: int, timeout: float) -> dict[int, int]:
    """Wait for ``n`` nodes and ask each for its partition id: node id → partition id."""
    deadline = time.monotonic() + timeout
    while len(nodes := list(grid.get_node_ids())) < n:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {len(nodes)} of {n} clients connected within {timeout:.0f} s")
        time.sleep(0.2)
    msgs = [Message(content=RecordDict({"config": ConfigRecord({})}), message_type=MessageType.QUERY, dst_node_id=nid)
            for nid in nodes]
    out: dict[int, int] = {}
    for reply in grid.send_and_receive(msgs, timeout=timeout):
        if not reply.has_error():
            out[reply.metadata.src_node_id] = int(reply.content["metrics"]["partition-id"])
    if len(out) < n:  # the others are named by their first training reply
        log.warning("only %d of %d clients answered the partition query", len(out), n)
    return out


def server_start(context: Context, default: str | None):
    """What every ServerApp starts from: work folder, manifest, ``result/``, the seeded initial
    model and its arrays, and the validation set (None when the run has none)."""
    workdir = _workdir(context, default)
    man = _manifest(workdir)
    out = workdir / "result"
    out.mkdir(parents=True, exist_ok=True)
    seed_everything(man["seed"])
    model = _model_fn(workdir)()
    val = load_dataset(workdir / "val.pt") if (workdir / "val.pt").exists() else None
    return workdir, man, out, model, model_arrays(model), val


def server_main(grid: Grid, context: Context, default: str | None) -> None:
    """Run the rounds, evaluate each global model on the validation set, write ``result/``."""
    workdir, man, out, model, initial, val = server_start(context, default)
    pids = _discover(grid, len(man["clients"]), max(120.0, man["round_timeout"]))
    names = {nid: man["clients"][pid] for nid, pid in pids.items()}
    strategy = Monitored(
        build_strategy(man["strategy"], man["options"], clients=len(man["clients"]),
                       min_clients=man["min_clients"], rounds=man["rounds"]),
        min_clients=man["min_clients"], names=names, clients=man["clients"],
    )
    lm = man.get("objective", "binary") == "causal_lm"
    evaluator = Trainer(batch_size=man["local"]["batch_size"], objective=man.get("objective", "binary"))
    best = {"val_auc": -math.inf, "round": 0}
    rounds_file = (out / "rounds.jsonl").open("w", encoding="utf-8")

    def evaluate(server_round: int, record: ArrayRecord) -> MetricRecord:
        arrays = _from_record(record)
        load_arrays(model, arrays)
        if lm:  # a language model: lower validation loss is better (scored as its negative)
            loss = evaluator.lm_loss(model, val) if val is not None else float("nan")
            auc = -loss
            rec = {"round": server_round, "val_loss": loss, "val_ppl": math.exp(min(loss, 50.0))}
        else:
            auc = roc_auc(*evaluator.predict_proba(model, val)[::-1]) if val is not None else float("nan")
            rec = {"round": server_round, "val_auc": auc}
        if server_round > 0:
            info = dict(strategy.rounds_.get(server_round, {}))
            rec.update({k: v for k, v in info.items() if k != "started"})
            rec["seconds"] = time.perf_counter() - info.get("started", time.perf_counter())
        rounds_file.write(json.dumps(rec) + "\n")
        rounds_file.flush()
        if server_round == 0 or (not math.isnan(auc) and auc > best["val_auc"]):
            best.update(val_auc=auc if not math.isnan(auc) else -math.inf, round=server_round)
            torch.save({k: torch.from_numpy(np.array(v)) for k, v in arrays.items()}, out / "best.pt")
        if lm:
            return MetricRecord({"val-loss": 0.0 if math.isnan(auc) else -auc})
        return MetricRecord({"val-auc": 0.0 if math.isnan(auc) else auc})

    try:
        result = strategy.start(grid=grid, initial_arrays=_to_record(initial), num_rounds=man["rounds"],
                                timeout=man["round_timeout"], evaluate_fn=evaluate)
    finally:
        rounds_file.close()
    final = _from_record(result.arrays) if result.arrays is not None else initial
    torch.save({k: torch.from_numpy(np.array(v)) for k, v in final.items()}, out / "final.pt")
    summary = {"best_round": best["round"], "privacy_spent": strategy.privacy_spent()}
    (out / "summary.json").write_text(json.dumps(summary), encoding="utf-8")


def build_apps(workdir: str | None = None) -> tuple[ServerApp, ClientApp]:
    """A ServerApp and a ClientApp bound to ``workdir`` (``None``: read it from the run config)."""
    server = ServerApp()

    @server.main()
    def _main(grid: Grid, context: Context) -> None:
        server_main(grid, context, workdir)

    client = ClientApp()

    @client.train(mods=[_clip_when_asked])
    def _train(msg: Message, context: Context) -> Message:
        return _client_train(msg, context, workdir)

    @client.query()
    def _query(msg: Message, context: Context) -> Message:
        return _client_query(msg, context)

    return server, client


# Loaded by a deployment (``flwr run``): the work directory comes from the run config.
server_app, client_app = build_apps(None)
