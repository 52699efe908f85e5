"""Strategies: Flower's own, picked by name, wrapped once to record each round.

``fedavg``, ``fedprox`` and the robust aggregators (``trimmed_mean``, ``median``, ``krum``) are
Flower's message-API strategies; ``dp_server_fixed`` / ``dp_client_fixed`` wrap FedAvg in Flower's
central-DP wrappers with its RDP accountant; ``secagg`` runs SecAgg+ (Flower's legacy workflow,
see :mod:`bentu.federated._secagg`). :class:`Monitored` wraps any of them to record who took part
in each round, who dropped, the bytes sent and to enforce ``min_clients``.
"""

from __future__ import annotations

import difflib
import logging
import time
from collections.abc import Iterable
from typing import Any

from flwr.app import ArrayRecord, ConfigRecord, Message, MetricRecord
from flwr.serverapp import Grid
from flwr.serverapp.strategy import (
    DifferentialPrivacyClientSideFixedClipping,
    DifferentialPrivacyServerSideFixedClipping,
    FedAvg,
    FedMedian,
    FedProx,
    FedTrimmedAvg,
    Krum,
    Strategy,
)

from bentu.errors import RecipeError
from bentu.federated._aggregate import POISON_MODES, dp_epsilon, noise_for_epsilon

__all__ = ["STRATEGIES", "resolve_strategy", "build_strategy", "privacy_plan", "check_options", "Monitored"]

log = logging.getLogger(__name__)

STRATEGIES = ("fedavg", "fedprox", "trimmed_mean", "median", "krum", "dp_server_fixed", "dp_client_fixed", "secagg")
DP_STRATEGIES = ("dp_server_fixed", "dp_client_fixed")


def resolve_strategy(name: str) -> str:
    """Return ``name`` if it is a known strategy, else raise with the closest match."""
    if name in STRATEGIES:
        return name
    close = difflib.get_close_matches(str(name), STRATEGIES, n=1, cutoff=0.5)
    hint_en = f" Did you mean {close[0]!r}?" if close else ""
    hint_zh = f"您是否想写 {close[0]!r}？" if close else ""
    raise RecipeError(
        f"Unknown federated.strategy {name!r}.{hint_en} Valid strategies: {', '.join(STRATEGIES)}.",
        f"未知的 federated.strategy {name!r}。{hint_zh}可用的策略：{', '.join(STRATEGIES)}。",
    )


def check_options(options: dict[str, Any], clients: list[str]) -> None:
    """Validate the fault-injection options (``poison``, ``fail``) against the client names."""
    for key in ("poison", "fail"):
        spec = options.get(key)
        if spec is None:
            continue
        if not isinstance(spec, dict) or spec.get("client") not in clients:
            got = spec.get("client") if isinstance(spec, dict) else spec
            raise RecipeError(
                f"federated.options.{key}.client must be one of the clients ({', '.join(clients[:5])}). "
                f"Got {got!r} instead.",
                f"federated.options.{key}.client 必须是客户端之一（{', '.join(clients[:5])}），实际为 {got!r}。",
            )
    mode = (options.get("poison") or {}).get("mode", "sign_flip")
    if mode not in POISON_MODES:
        raise RecipeError(
            f"federated.options.poison.mode must be one of {', '.join(POISON_MODES)}. Got {mode!r} instead.",
            f"federated.options.poison.mode 必须是 {', '.join(POISON_MODES)} 之一，实际为 {mode!r}。",
        )


def privacy_plan(name: str, options: dict[str, Any], rounds: int, clients: int) -> dict | None:
    """Noise multiplier, clipping norm, ε and δ of a DP strategy (``None`` for the others).

    ``options.epsilon`` (a target) sets the noise multiplier; else ``options.noise_multiplier``
    (default 1.0) is used and its ε is reported.
    """
    if name not in DP_STRATEGIES:
        return None
    delta = float(options.get("delta", 1e-5))
    clip = float(options.get("clipping_norm", 1.0))
    if options.get("epsilon") is not None:
        eps = float(options["epsilon"])
        if not eps > 0:
            raise RecipeError(
                f"federated.options.epsilon must be a float in (0, inf). Got {eps!r} instead.",
                f"federated.options.epsilon 必须是 (0, inf) 内的数，实际为 {eps!r}。",
            )
        nm = noise_for_epsilon(eps, rounds, clients, delta)
    else:
        nm = float(options.get("noise_multiplier", 1.0))
    return {
        "mechanism": "gaussian", "clipping": "server" if name == "dp_server_fixed" else "client",
        "noise_multiplier": nm, "clipping_norm": clip, "delta": delta, "rounds": rounds, "clients": clients,
        "epsilon": dp_epsilon(nm, rounds, clients, delta), "accountant": "rdp",
        "unit": "client-level (add or remove one client's whole data)",
    }


def build_strategy(name: str, options: dict[str, Any], *, clients: int, min_clients: int, rounds: int) -> Strategy:
    """Flower strategy for ``name`` (no client-side evaluation: bentu evaluates centrally)."""
    common = dict(fraction_train=1.0, fraction_evaluate=0.0, min_train_nodes=clients,
                  min_evaluate_nodes=0, min_available_nodes=clients)
    if name == "fedprox":
        return FedProx(proximal_mu=float(options.get("mu", 0.01)), **common)
    if name == "trimmed_mean":
        return FedTrimmedAvg(beta=float(options.get("beta", 0.2)), **common)
    if name == "median":
        return FedMedian(**common)
    if name == "krum":
        return Krum(num_malicious_nodes=int(options.get("num_malicious", 1)), **common)
    if name in DP_STRATEGIES:
        return _dp_strategy(name, options, clients=clients, rounds=rounds, common=common)
    return FedAvg(**common)


def _dp_strategy(name: str, options: dict, *, clients: int, rounds: int, common: dict) -> Strategy:
    from flwr.supercore.privacy_accounting import NeighboringRelation, PrivacyConfig, SamplingMethod
    from flwr.supercore.privacy_accounting.rdp_accountant import RdpAccountant

    plan = privacy_plan(name, options, rounds, clients)
    accountant = RdpAccountant(PrivacyConfig(
        target_delta=plan["delta"], population_size=clients,
        neighboring_relation=NeighboringRelation.ADD_OR_REMOVE_ONE,
        sampling_method=SamplingMethod.NO_AMPLIFICATION,
    ))
    # The accountant needs equal client weights: every client reports "unit" = 1.
    inner = FedAvg(weighted_by_key="unit", **common)
    wrapper = (DifferentialPrivacyServerSideFixedClipping if name == "dp_server_fixed"
               else DifferentialPrivacyClientSideFixedClipping)
    return wrapper(inner, plan["noise_multiplier"], plan["clipping_norm"], clients, accountant=accountant)


def _payload_bytes(record: ArrayRecord) -> int:
    return int(sum(len(a.data) for a in record.values()))


class Monitored(Strategy):
    """Wrap a strategy: record each round, drop failed clients, require ``min_clients``.

    Parameters
    ----------
    strategy : Strategy
        The strategy that samples and aggregates.
    min_clients : int
        A round whose successful replies are fewer keeps the previous global model.
    names : dict
        Node id → client name (learned before the first round).
    clients : list of str, optional
        Client names by partition id, to name nodes from their replies.
    """

    def __init__(self, strategy: Strategy, *, min_clients: int, names: dict[int, str], clients: list[str] | None = None):
        self.strategy, self.min_clients, self.names = strategy, min_clients, names
        self.clients = list(clients or [])
        self.rounds_: dict[int, dict] = {}
        self._sent: dict[int, list[int]] = {}

    def summary(self) -> None:
        self.strategy.summary()

    def configure_train(self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid) -> Iterable[Message]:
        messages = list(self.strategy.configure_train(server_round, arrays, config, grid))
        self._sent[server_round] = [m.metadata.dst_node_id for m in messages]
        self.rounds_[server_round] = {"round": server_round, "started": time.perf_counter(),
                                      "bytes_down": _payload_bytes(arrays) * len(messages)}
        return messages

    def aggregate_train(self, server_round: int, replies: Iterable[Message]) -> tuple[ArrayRecord | None, MetricRecord | None]:
        replies = list(replies)
        ok = [r for r in replies if not r.has_error()]
        for r in replies:
            if r.has_error():
                log.warning("round %d: client %s failed: %s", server_round,
                            self.names.get(r.metadata.src_node_id, r.metadata.src_node_id), r.error.reason)
        for r in ok:  # a client that missed the partition query is named by its reply
            pid = next(iter(r.content.metric_records.values())).get("partition-id")
            if pid is not None and self.clients:
                self.names.setdefault(r.metadata.src_node_id, self.clients[int(pid)])
        ok_nodes = {r.metadata.src_node_id for r in ok}
        rec = self.rounds_[server_round]
        rec["participants"] = sorted(self.names.get(n, str(n)) for n in ok_nodes)
        rec["dropped"] = sorted(self.names.get(n, str(n)) for n in self._sent.get(server_round, []) if n not in ok_nodes)
        rec["bytes_up"] = sum(_payload_bytes(ar) for r in ok for ar in r.content.array_records.values())
        if len(ok) < self.min_clients:
            log.warning("round %d: %d clients replied, fewer than min_clients=%d; the global model is kept",
                        server_round, len(ok), self.min_clients)
            rec["aggregated"] = False
            return None, None
        arrays, metrics = self.strategy.aggregate_train(server_round, ok)
        rec["aggregated"] = arrays is not None
        return arrays, metrics

    def configure_evaluate(self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid) -> Iterable[Message]:
        return self.strategy.configure_evaluate(server_round, arrays, config, grid)

    def aggregate_evaluate(self, server_round: int, replies: Iterable[Message]) -> MetricRecord | None:
        return self.strategy.aggregate_evaluate(server_round, replies)

    def privacy_spent(self) -> dict | None:
        spent = getattr(self.strategy, "privacy_spent", lambda: None)()
        if spent is None:
            return None
        return {"epsilon_spent": float(spent.epsilon), "delta": float(spent.delta), "releases": int(spent.num_releases)}
