"""``train_federated``: prepare a federation's work directory, run it on a Flower runtime, and
read the result back."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cloudpickle
import torch
from torch import nn
from torch.utils.data import Dataset

from bentu.errors import DataError
from bentu.federated._data import safe_name, save_dataset
from bentu.federated._dp import check_record_dp, plan_record_dp, record_dp_spent
from bentu.federated.strategies import check_options, privacy_plan, resolve_strategy

if TYPE_CHECKING:  # the recipe's sections, read by attribute: this layer does not import the recipe
    from bentu.recipe import FederatedCfg, TrainCfg

__all__ = ["FederatedResult", "train_federated", "prepare_workdir", "read_result", "check_objective"]

log = logging.getLogger(__name__)


@dataclass
class FederatedResult:
    """What a federated run produced.

    Attributes
    ----------
    model : nn.Module
        The global model with the weights of the round with the best validation AUC.
    rounds : list of dict
        Per round: ``round``, ``val_auc``, ``participants``, ``dropped``, ``bytes_up``,
        ``bytes_down``, ``seconds``, ``aggregated``.
    dropped : dict
        Client → rounds in which it failed or timed out.
    strategy, runtime : str
        The strategy name; ``"simulation"`` or ``"deploy"``.
    privacy : dict or None
        For DP strategies: ``epsilon``, ``delta``, ``noise_multiplier``, ``clipping_norm``, …
    seconds : float
        Wall time of the whole run (process start-up included).
    best_round : int
    clients : dict
        Client → ``{"rows": n}``.
    dp : dict or None
        With ``train.dp``: record-level DP-SGD in every client (:mod:`bentu.federated._dp`):
        ``epsilon`` (the maximum over clients), ``delta``, ``max_grad_norm``, ``noise_multiplier``,
        ``accountant``, ``per_client``, ``protects`` and ``does_not_protect`` (en / zh).
    """

    model: nn.Module
    rounds: list[dict]
    dropped: dict[str, list[int]]
    strategy: str
    runtime: str
    privacy: dict | None
    seconds: float
    best_round: int = 0
    clients: dict[str, dict] = field(default_factory=dict)
    dp: dict | None = None

    def to_dict(self) -> dict[str, Any]:
        """Everything but the model, JSON-ready."""
        out = {"strategy": self.strategy, "runtime": self.runtime, "rounds": self.rounds,
               "dropped": self.dropped, "privacy": self.privacy, "seconds": self.seconds,
               "best_round": self.best_round, "clients": self.clients}
        if self.dp is not None:
            out["dp"] = self.dp
        return out


def _pickle_model_fn(model_fn: Callable[[], nn.Module], path: Path) -> None:
    module = sys.modules.get(getattr(model_fn, "__module__", "") or "")
    # Functions defined outside installed packages (a script, a test) travel by value.
    if module is not None and not module.__name__.split(".")[0] in ("bentu", "torch", "functools"):
        cloudpickle.register_pickle_by_value(module)
        try:
            path.write_bytes(cloudpickle.dumps(model_fn))
        finally:
            cloudpickle.unregister_pickle_by_value(module)
    else:
        path.write_bytes(cloudpickle.dumps(model_fn))


def _check_clients(clients: dict[str, Dataset], cfg: FederatedCfg) -> None:
    names = sorted(map(str, clients))
    if len(clients) < max(cfg.min_clients, 2):
        raise DataError(
            f"The federation has {len(clients)} client(s) ({', '.join(names[:5])}), fewer than "
            f"federated.min_clients={max(cfg.min_clients, 2)}. Add institutions, or lower federated.min_clients.",
            f"联邦只有 {len(clients)} 个客户端（{', '.join(names[:5])}），少于 federated.min_clients="
            f"{max(cfg.min_clients, 2)}。请增加机构，或调低 federated.min_clients。",
        )
    empty = sorted(str(n) for n, ds in clients.items() if len(ds) == 0)
    if empty:
        raise DataError(
            f"Client(s) {', '.join(empty[:5])} hold no rows. Every client needs data: drop them or repartition.",
            f"客户端 {', '.join(empty[:5])} 没有数据行。每个客户端都需要数据：请删除它们或重新划分。",
        )


def check_objective(strategy: str, train: TrainCfg, objective: str) -> None:
    """Refuse settings the objective does not support (a language model: no SecAgg+, no record-level DP)."""
    from bentu.errors import ConfigError

    if objective == "causal_lm" and strategy == "secagg":
        raise ConfigError("federated.strategy 'secagg' is not available for language-model tuning yet; use fedavg, "
                          "fedprox, trimmed_mean, median, krum or a client-level DP strategy.",
                          "语言模型微调暂不支持 federated.strategy 'secagg'；请使用 fedavg、fedprox、trimmed_mean、median、"
                          "krum 或客户端级差分隐私策略。")
    if objective == "causal_lm" and train.dp is not None:
        raise ConfigError("train.dp (record-level DP-SGD) is not available for language-model tuning; remove it, "
                          "or use a DP strategy (federated.strategy: dp_server_fixed or dp_client_fixed) for client-level DP.",
                          "语言模型微调不支持 train.dp（记录级 DP-SGD）；请去掉它，或使用客户端级差分隐私策略"
                          "（federated.strategy: dp_server_fixed 或 dp_client_fixed）。")


def prepare_workdir(*, model_fn: Callable[[], nn.Module], clients: dict[str, Dataset], val: Dataset | None,
                    cfg: FederatedCfg, train: TrainCfg, workdir: Path, objective: str = "binary") -> dict[str, Any]:
    """Write the plan, the model builder and each client's data under ``workdir``."""
    strategy = resolve_strategy(cfg.strategy)
    check_objective(strategy, train, objective)
    _check_clients(clients, cfg)
    names = [str(n) for n in clients]
    check_options(cfg.options, names)
    if train.dp is not None:
        check_record_dp(strategy, model_fn())
    for sub in ("clients", "result"):
        shutil.rmtree(workdir / sub, ignore_errors=True)
    (workdir / "clients").mkdir(parents=True, exist_ok=True)
    files, used = [], set()
    for i, (name, ds) in enumerate(clients.items()):
        fname = f"{safe_name(name)}.pt"
        fname = f"{i}_{fname}" if fname in used else fname
        used.add(fname)
        save_dataset(ds, workdir / "clients" / fname)
        files.append(fname)
    if val is not None:
        save_dataset(val, workdir / "val.pt")
    elif (workdir / "val.pt").exists():
        (workdir / "val.pt").unlink()
    _pickle_model_fn(model_fn, workdir / "model_fn.pkl")
    manifest = {
        "clients": names, "files": files, "strategy": strategy, "rounds": cfg.rounds,
        "min_clients": cfg.min_clients, "round_timeout": cfg.round_timeout, "client_cpus": cfg.client_cpus,
        "options": cfg.options, "seed": train.seed, "objective": objective,
        "local": {"optimizer": train.optimizer, "lr": train.lr, "weight_decay": train.weight_decay,
                  "epochs": cfg.local_epochs, "batch_size": train.batch_size, "pos_weight": train.pos_weight},
        "privacy": privacy_plan(strategy, cfg.options, cfg.rounds, len(names)),
        "rows": {n: len(ds) for n, ds in clients.items()},
    }
    if train.dp is not None:
        manifest["record_dp"] = plan_record_dp(train.dp, {str(n): len(ds) for n, ds in clients.items()},
                                               rounds=cfg.rounds, local_epochs=cfg.local_epochs,
                                               batch_size=train.batch_size)
    (workdir / "federation.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    return manifest


def read_result(workdir: Path, manifest: dict, model_fn: Callable[[], nn.Module], runtime: str, seconds: float) -> FederatedResult:
    """Build a :class:`FederatedResult` from ``workdir/result``."""
    from bentu.federated._apps import load_arrays

    out = workdir / "result"
    rounds = [json.loads(line) for line in (out / "rounds.jsonl").read_text(encoding="utf-8").splitlines() if line]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    model = model_fn()
    state = torch.load(out / "best.pt", weights_only=True)
    load_arrays(model, {k: v.numpy() for k, v in state.items()})
    dropped: dict[str, list[int]] = {}
    for r in rounds:
        for name in r.get("dropped", []):
            dropped.setdefault(name, []).append(r["round"])
    privacy = manifest["privacy"]
    if privacy is not None and summary.get("privacy_spent"):
        privacy = {**privacy, **summary["privacy_spent"]}
    rounds = [r for r in rounds if r["round"] > 0]
    dp = record_dp_spent(manifest["record_dp"], len(rounds)) if manifest.get("record_dp") else None
    return FederatedResult(
        model=model, rounds=rounds, dropped=dropped, strategy=manifest["strategy"],
        runtime=runtime, privacy=privacy, seconds=seconds, best_round=summary["best_round"],
        clients={n: {"rows": r} for n, r in manifest["rows"].items()}, dp=dp,
    )


def _watch(proc: subprocess.Popen, rounds_path: Path, total: int, progress: bool, limit: float) -> int:
    """Wait for ``proc``; show a Rich progress bar of finished rounds when asked."""
    deadline = time.monotonic() + limit
    bar = None
    if progress:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        bar = Progress(TextColumn("federated rounds"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                       console=Console(stderr=True), transient=True)
        bar.start()
        task = bar.add_task("rounds", total=total)
    try:
        while proc.poll() is None:
            if time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                return -9
            if bar is not None and rounds_path.exists():
                done = sum(1 for line in rounds_path.read_text(encoding="utf-8").splitlines() if line) - 1
                bar.update(task, completed=max(done, 0))
            time.sleep(0.5)
        return int(proc.returncode)
    finally:
        if bar is not None:
            bar.stop()


def _log_tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def run_simulation_process(workdir: Path, manifest: dict, progress: bool) -> None:
    """Run Flower's simulation of ``workdir`` in a child process; its logs go to ``flower.log``.

    The child and everything it starts (Ray's processes) are stopped by PID when it ends, fails
    or is interrupted.
    """
    from bentu.federated.deploy import ProcessGroup

    log_path = workdir / "flower.log"
    env = {**os.environ, "FLWR_TELEMETRY_ENABLED": "0", "FLWR_DISABLE_UPDATE_CHECK": "1",
           "RAY_DEDUP_LOGS": "0", "PYTHONUNBUFFERED": "1"}
    limit = manifest["rounds"] * manifest["round_timeout"] + 600
    group = ProcessGroup()
    try:
        proc = group.start([sys.executable, "-m", "bentu.federated._simulate", str(workdir)], env, log_path)
        rc = _watch(proc, workdir / "result" / "rounds.jsonl", manifest["rounds"], progress, limit)
    finally:
        group.stop()
    if rc != 0 or not (workdir / "result" / "final.pt").exists():
        raise RuntimeError(f"Flower simulation failed (exit {rc}); see {log_path}:\n{_log_tail(log_path)}")


def train_federated(*, model_fn: Callable[[], nn.Module], clients: dict[str, Dataset], val: Dataset | None,
                    cfg: FederatedCfg, train: TrainCfg, workdir: Path, progress: bool = False,
                    objective: str = "binary") -> FederatedResult:
    """Train a model across clients with Flower, without pooling their data.

    Parameters
    ----------
    model_fn : callable
        Builds a fresh model (the same architecture on every client and on the server).
    clients : dict
        Client name → its Dataset (items ``(x, y)`` or ``(x, y, mask)``).
    val : Dataset, optional
        Central validation data: the global model of each round is scored on it, and the round
        with the best AUC gives the returned weights.
    cfg : FederatedCfg
        Strategy, rounds, ``local_epochs``, ``min_clients``, ``deploy`` and ``options``.
    train : TrainCfg
        Optimizer, learning rate, batch size and seed of the local training.
    workdir : Path
        Where client data, Flower's logs (``flower.log``) and the results are written.
    progress : bool
        Show a progress bar of rounds on stderr.
    objective : {"binary", "causal_lm"}
        The Trainer objective of the local training. ``causal_lm`` tunes a language model: only its
        trainable parameters (a LoRA adapter) travel, and rounds are scored by validation loss
        (``val_loss``, ``val_ppl``; the best round has the lowest loss).

    Returns
    -------
    FederatedResult

    Raises
    ------
    RecipeError
        An unknown strategy (with the closest match) or bad fault-injection options.
    DataError
        Fewer clients than ``min_clients`` or a client without rows.
    """
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    manifest = prepare_workdir(model_fn=model_fn, clients=clients, val=val, cfg=cfg, train=train, workdir=workdir,
                               objective=objective)
    from bentu.federated.deploy import run_deployment, sigterm_as_exception

    start = time.perf_counter()
    with sigterm_as_exception():  # SIGTERM stops the Flower processes like Ctrl-C does
        if cfg.deploy:
            run_deployment(workdir, manifest, progress=progress)
        else:
            run_simulation_process(workdir, manifest, progress)
    return read_result(workdir, manifest, model_fn, "deploy" if cfg.deploy else "simulation", time.perf_counter() - start)
