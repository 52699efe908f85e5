"""Was federation worth it? Pooled (the upper bound), federated and institution-alone models,
scored on the same test set."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from bentu.federated._core import train_federated
from bentu.train import Trainer, seed_everything
from bentu.train.trainer import dp_settings

if TYPE_CHECKING:  # the recipe's sections, read by attribute: this layer does not import the recipe
    from bentu.recipe import FederatedCfg, TrainCfg

__all__ = ["compare_federation", "central_trainer"]

#: ``evaluate(y, p) -> dict`` of metrics (the caller passes :func:`bentu.audit.metrics.binary_metrics`).
Evaluate = Callable[[np.ndarray, np.ndarray], dict]

log = logging.getLogger(__name__)


def central_trainer(train: TrainCfg, progress: bool = False, description: str = "training",
                    rows: int | None = None) -> Trainer:
    """The Trainer a recipe's ``train`` section describes; with ``train.dp`` and the number of
    training ``rows``, a DP-SGD Trainer (δ default: 1 / (10 · rows))."""
    return Trainer(optimizer=train.optimizer, lr=train.lr, weight_decay=train.weight_decay, epochs=train.epochs,
                   batch_size=train.batch_size, patience=train.patience, seed=train.seed,
                   pos_weight=train.pos_weight, progress=progress, description=description,
                   dp=dp_settings(train.dp, rows) if rows is not None else None)


def _labels(ds: Dataset) -> np.ndarray:
    ys = []
    for batch in DataLoader(ds, batch_size=4096, shuffle=False):
        y = batch[1]
        if len(batch) > 2:
            y = y[batch[2]]
        ys.append(y.reshape(-1).numpy())
    return np.concatenate(ys) if ys else np.zeros(0)


def _scores(trainer: Trainer, model: nn.Module, val: Dataset, test: Dataset, evaluate: Evaluate) -> dict[str, dict]:
    out = {}
    for split, ds in (("val", val), ("test", test)):
        p, y = trainer.predict_proba(model, ds)
        out[split] = evaluate(y, p)
    return out


def _train_central(model_fn: Callable[[], nn.Module], data: Dataset, val: Dataset, test: Dataset,
                   train: TrainCfg, progress: bool, description: str, evaluate: Evaluate) -> dict[str, Any]:
    seed_everything(train.seed)
    model = model_fn()
    trainer = central_trainer(train, progress, description, rows=len(data)).fit(model, data, val)
    out = {**_scores(trainer, model, val, test, evaluate), "rows": len(data), "seconds": trainer.train_seconds_,
           "best_epoch": trainer.best_epoch_}
    if trainer.dp_ is not None:
        out["dp"] = trainer.dp_
    return out


def compare_federation(*, model_fn: Callable[[], nn.Module], clients: dict[str, Dataset], pooled_train: Dataset,
                       val: Dataset, test: Dataset, cfg: FederatedCfg, train: TrainCfg, workdir: Path,
                       evaluate: Evaluate, progress: bool = False) -> dict:
    """Train pooled, federated and each institution alone; score all on ``test`` with ``evaluate``.

    Returns
    -------
    dict
        ``{"pooled": {"test": {...}, "val": {...}, "seconds"}, "federated": {"test", "val", "rounds",
        "dropped", "privacy", "strategy", "runtime", "seconds", "best_round"}, "local": {name: {"test",
        "val", "rows"}}, "clients": {name: {"rows", "label_rate"}}, "model": nn.Module}``; ``model`` is
        the federated model (pop it before writing JSON); metrics from ``evaluate(y, p)``
        (e.g. :func:`bentu.audit.metrics.binary_metrics`).
    """
    torch.set_num_threads(max(1, min(torch.get_num_threads(), 4)))
    clients_info = {}
    for name, ds in clients.items():
        y = _labels(ds)
        clients_info[str(name)] = {"rows": len(ds), "label_rate": float(y.mean()) if len(y) else float("nan")}
    pooled = _train_central(model_fn, pooled_train, val, test, train, progress, "pooled", evaluate)
    start = time.perf_counter()
    fed = train_federated(model_fn=model_fn, clients=clients, val=val, cfg=cfg, train=train,
                          workdir=Path(workdir) / "federated", progress=progress)
    fed_scores = _scores(central_trainer(train), fed.model, val, test, evaluate)
    local = {}
    for name, ds in clients.items():
        local[str(name)] = _train_central(model_fn, ds, val, test, train, progress, f"local {name}", evaluate)
    return {
        "pooled": pooled,
        "federated": {**fed_scores, **{k: v for k, v in fed.to_dict().items() if k != "clients"},
                      "seconds": time.perf_counter() - start},
        "local": local,
        "clients": clients_info,
        "model": fed.model,  # the federated model (not JSON: pop it before writing metrics)
    }
