"""Record-level DP-SGD inside every federated client (``train.dp`` with ``federated.enabled``).

The coordinator plans each client's noise before the first round: client ``c`` with ``n_c`` rows
takes ``local_epochs · ceil(n_c / batch_size)`` Poisson-sampled DP-SGD steps per round at sampling
rate ``q_c = 1 / ceil(n_c / batch_size)``, and its noise multiplier is the smallest one whose ε
after all rounds is at most ``train.dp.epsilon``. Each client's ε is about its own records; the
clients hold disjoint records, so one record is covered by one client's ε, and the federation's ε
is the maximum over the clients (parallel composition), not their sum.
"""

from __future__ import annotations

from typing import Any

from bentu.errors import ConfigError

__all__ = ["plan_record_dp", "client_dp_spec", "record_dp_spent", "check_record_dp"]

COMPOSITION = {
    "en": "max over clients: the clients hold disjoint records, so each record is covered by the epsilon of the one "
          "client that holds it (parallel composition)",
    "zh": "取各客户端的最大值：各客户端的记录互不重叠，每条记录只受持有它的那个客户端的 epsilon 约束（并行组合）",
}


def check_record_dp(strategy: str, model: Any) -> None:
    """Refuse what breaks DP-SGD in a client before anything starts: FedProx, refused layers."""
    from bentu.train.dp import check_dp_model

    if strategy == "fedprox":
        raise ConfigError(
            "train.dp cannot be combined with federated.strategy 'fedprox': the proximal term's gradient would bypass "
            "the per-record clipping, which breaks the DP guarantee. Use 'fedavg' (or a robust aggregator) with train.dp.",
            "train.dp 不能与 federated.strategy 'fedprox' 同时使用：近端项的梯度会绕过逐条记录的裁剪，差分隐私保证将失效。"
            "请在使用 train.dp 时选择 'fedavg'（或稳健聚合策略）。",
        )
    check_dp_model(model)


def plan_record_dp(dp: Any, rows: dict[str, int], *, rounds: int, local_epochs: int, batch_size: int) -> dict[str, Any]:
    """The DP-SGD plan of every client: sampling rate, steps per round and noise multiplier.

    ``dp`` is a recipe's ``train.dp`` (``epsilon``, ``delta`` — ``None``: 1 / (10 · rows of the
    smallest client) —, ``max_grad_norm``, ``accountant``).
    """
    from bentu.train.dp import check_dp_params, default_delta, noise_for_epsilon, steps_per_epoch

    delta = dp.delta if dp.delta is not None else default_delta(min(rows.values()))
    check_dp_params(dp.epsilon, delta, dp.max_grad_norm, dp.accountant)
    per_client = {}
    for name, n in rows.items():
        spe = steps_per_epoch(n, batch_size)
        per_round = local_epochs * spe
        per_client[name] = {
            "rows": int(n), "sample_rate": 1.0 / spe, "steps_per_round": per_round,
            "noise_multiplier": noise_for_epsilon(dp.epsilon, delta, 1.0 / spe, rounds * per_round, dp.accountant),
        }
    return {"epsilon_target": float(dp.epsilon), "delta": float(delta), "delta_rule": "1 / (10 * rows of the smallest client)"
            if dp.delta is None else "given", "max_grad_norm": float(dp.max_grad_norm), "accountant": dp.accountant,
            "rounds_planned": int(rounds), "per_client": per_client}


def client_dp_spec(plan: dict[str, Any], name: str):
    """The :class:`~bentu.train.dp.DPSpec` client ``name`` trains with (its planned noise)."""
    from bentu.train.dp import DPSpec

    c = plan["per_client"][name]
    return DPSpec(epsilon=plan["epsilon_target"], delta=plan["delta"], max_grad_norm=plan["max_grad_norm"],
                  accountant=plan["accountant"], noise_multiplier=c["noise_multiplier"])


def record_dp_spent(plan: dict[str, Any], rounds_run: int) -> dict[str, Any]:
    """The ε each client spent after ``rounds_run`` rounds, and the federation's (the maximum).

    Every client is counted as having trained in every round run (a client that dropped may have
    trained before its reply was lost), so the numbers are upper bounds.
    """
    from bentu.train.dp import DOES_NOT_PROTECT, PROTECTS, epsilon_spent

    per_client = {}
    for name, c in plan["per_client"].items():
        steps = rounds_run * c["steps_per_round"]
        per_client[name] = {**c, "steps": steps,
                            "epsilon": epsilon_spent(c["noise_multiplier"], c["sample_rate"], steps, plan["delta"],
                                                     plan["accountant"])}
    worst = max(per_client, key=lambda n: per_client[n]["epsilon"])
    return {"level": "record", "epsilon": per_client[worst]["epsilon"], "epsilon_target": plan["epsilon_target"],
            "delta": plan["delta"], "delta_rule": plan["delta_rule"], "max_grad_norm": plan["max_grad_norm"],
            "noise_multiplier": per_client[worst]["noise_multiplier"], "accountant": plan["accountant"],
            "rounds": rounds_run, "composition": COMPOSITION, "per_client": per_client,
            "protects": PROTECTS, "does_not_protect": DOES_NOT_PROTECT}
