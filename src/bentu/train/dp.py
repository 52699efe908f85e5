"""Record-level differential privacy for the Trainer: DP-SGD with Opacus.

DP-SGD (Abadi et al., 2016) clips every record's gradient to ``max_grad_norm`` (L2) and adds
Gaussian noise of standard deviation ``noise_multiplier · max_grad_norm`` to the sum of a batch;
batches are drawn by Poisson sampling (each record joins each batch with probability
``sample_rate = 1 / ceil(rows / batch_size)``). An accountant (Rényi DP, ``rdp``, or the
privacy-loss-distribution accountant, ``prv``) composes the steps into one (ε, δ) guarantee about
*one record* of the training rows: any single row changes the distribution of the trained weights
by at most a factor ``exp(ε)`` (up to probability δ).

This module only imports Opacus when DP is asked for (``Trainer(dp=…)``): runs without DP are
unchanged, bit for bit.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

import torch
from opacus import PrivacyEngine
from opacus.accountants import create_accountant
from opacus.accountants.utils import get_noise_multiplier
from opacus.validators import ModuleValidator
from torch import nn
from torch.utils.data import DataLoader

from bentu.errors import ConfigError

__all__ = ["DPSpec", "ACCOUNTANTS", "check_dp_params", "check_dp_model", "default_delta", "steps_per_epoch",
           "sample_rate", "noise_for_epsilon", "epsilon_spent", "make_private", "close_private", "describe", "pooled_summary", "quiet_hooks",
           "PROTECTS", "DOES_NOT_PROTECT"]

ACCOUNTANTS = ("rdp", "prv")


PROTECTS = {
    "en": ("One record (one customer row) of one institution: whether any single row was in that institution's "
           "training data changes the distribution of the released model by at most a factor exp(epsilon), "
           "except with probability delta."),
    "zh": "单个机构的单条记录（一位客户的一行数据）：任何一行是否参与该机构的训练，对发布模型分布的影响不超过 exp(epsilon) 倍"
          "（失败概率不超过 delta）。",
}
DOES_NOT_PROTECT = {
    "en": ("A customer with several rows (each row is protected on its own; k rows cost up to k·epsilon); "
           "an institution's aggregate statistics (its default rate, its share of the federation); the validation "
           "and test rows, which choose the best epoch or round and score the model; features that are predictable "
           "from the population as a whole (what the model learns is meant to be public)."),
    "zh": "拥有多行记录的客户（每行单独受保护；k 行最多消耗 k·epsilon）；机构层面的汇总统计（违约率、在联邦中的占比）；"
          "用于选择最佳轮次并评估模型的验证集与测试集；可从总体规律推断出的特征（模型学到的规律本就是公开的）。",
}


@dataclass
class DPSpec:
    """What DP-SGD a Trainer runs.

    Parameters
    ----------
    epsilon : float
        Target ε over the whole training (> 0, finite).
    delta : float
        Target δ, in (0, 1); choose it below 1 / rows (:func:`default_delta`).
    max_grad_norm : float
        Per-record gradient clipping bound (L2), > 0.
    accountant : {"rdp", "prv"}
    noise_multiplier : float, optional
        Use this noise instead of calibrating it to ``epsilon`` over the Trainer's epochs: a
        federated client's noise is calibrated for all rounds by the coordinator.
    """

    epsilon: float
    delta: float
    max_grad_norm: float = 1.0
    accountant: str = "rdp"
    noise_multiplier: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _bad(name: str, expected: str, value: Any, where: str) -> ConfigError:
    return ConfigError(
        f"The {name!r} parameter of {where} must be {expected}. Got {value!r} instead.",
        f"{where} 的参数 {name!r} 必须是 {expected}，实际为 {value!r}。",
    )


def _is_real(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def check_dp_params(epsilon: Any, delta: Any, max_grad_norm: Any, accountant: Any = "rdp",
                    where: str = "train.dp") -> None:
    """Raise :class:`ConfigError` unless ε > 0 and finite, 0 < δ < 1, max_grad_norm > 0."""
    if not (_is_real(epsilon) and math.isfinite(epsilon) and epsilon > 0):
        raise _bad("epsilon", "a finite float in (0, inf)", epsilon, where)
    if not (_is_real(delta) and 0 < delta < 1):
        raise _bad("delta", "a float in (0, 1)", delta, where)
    if not (_is_real(max_grad_norm) and math.isfinite(max_grad_norm) and max_grad_norm > 0):
        raise _bad("max_grad_norm", "a finite float in (0, inf)", max_grad_norm, where)
    if accountant not in ACCOUNTANTS:
        raise _bad("accountant", "'rdp' or 'prv'", accountant, where)


def default_delta(rows: int) -> float:
    """δ = 1 / (10 · rows): below 1 / rows, the usual rule (a δ near 1/n allows leaking a row)."""
    return 1.0 / (10 * max(int(rows), 1))


def check_dp_model(model: nn.Module) -> None:
    """Raise :class:`ConfigError` naming every layer Opacus refuses (e.g. batch norm).

    bentu never replaces layers behind the user's back (Opacus's ``ModuleValidator.fix``): a
    model trained with DP should be the model that was asked for.
    """
    bad = []
    for name, module in model.named_modules():
        validator = ModuleValidator.VALIDATORS.get(type(module))
        if validator is not None and validator(module):
            bad.append(f"{name or '<model>'} ({type(module).__name__})")
    if bad:
        raise ConfigError(
            f"DP-SGD (train.dp) cannot train this model: Opacus refuses its layers {', '.join(bad)}. Batch norm mixes "
            "the records of a batch, so per-record gradients do not exist. Use a model without them (for tabular_mlp: "
            "model.params.norm: layer) or remove train.dp.",
            f"DP-SGD（train.dp）无法训练此模型：Opacus 不支持其中的层 {', '.join(bad)}。批归一化会混合同一批次的记录，"
            "因此不存在逐条记录的梯度。请换用不含这些层的模型（tabular_mlp 可设 model.params.norm: layer），或删除 train.dp。",
        )


def steps_per_epoch(rows: int, batch_size: int) -> int:
    """Optimizer steps per epoch under Poisson sampling (Opacus: the non-private loader's length)."""
    return max(1, math.ceil(int(rows) / int(batch_size)))


def sample_rate(rows: int, batch_size: int) -> float:
    """Probability that a record joins a batch: ``1 / steps_per_epoch``."""
    return 1.0 / steps_per_epoch(rows, batch_size)


def noise_for_epsilon(epsilon: float, delta: float, rate: float, steps: int, accountant: str = "rdp") -> float:
    """The noise multiplier whose (ε, δ) after ``steps`` Poisson-sampled steps is at most ``epsilon``."""
    with _quiet_search():
        return float(get_noise_multiplier(target_epsilon=epsilon, target_delta=delta, sample_rate=rate,
                                          steps=int(steps), accountant=accountant))


@contextmanager
def _quiet_search() -> Iterator[None]:
    """The noise search tries tiny noise levels, for which RDP's best order is its largest: the
    warning about that concerns discarded candidates, not the chosen noise."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Optimal order is the largest alpha", category=UserWarning)
        yield


def epsilon_spent(noise_multiplier: float, rate: float, steps: int, delta: float, accountant: str = "rdp") -> float:
    """ε after ``steps`` steps of the sampled Gaussian mechanism, from Opacus's accountant."""
    if steps <= 0:
        return 0.0
    acc = create_accountant(accountant)
    acc.history = [(float(noise_multiplier), float(rate), int(steps))]
    return float(acc.get_epsilon(delta=delta))


@contextmanager
def quiet_hooks() -> Iterator[None]:
    """Silence torch's warning about Opacus's backward hooks on a first layer whose input needs no
    gradient (expected and harmless: the per-sample gradients of the weights are still computed)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Full backward hook is firing", category=UserWarning)
        yield


def make_private(model: nn.Module, optimizer: torch.optim.Optimizer, loader: DataLoader, spec: DPSpec, epochs: int,
                 seed: int) -> tuple[nn.Module, torch.optim.Optimizer, DataLoader, PrivacyEngine]:
    """Wrap model, optimizer and loader for DP-SGD with Poisson sampling.

    With ``spec.noise_multiplier`` unset the noise is calibrated by Opacus's
    ``make_private_with_epsilon`` to reach ``spec.epsilon`` after ``epochs`` epochs. The
    sampling order follows ``loader``'s generator and the noise a generator seeded with ``seed``,
    so the same seed gives the same model (this is not ``secure_mode``: for production releases
    the randomness should come from a cryptographic source).
    """
    check_dp_model(model)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Secure RNG turned off", category=UserWarning)
        engine = PrivacyEngine(accountant=spec.accountant)
    noise = torch.Generator().manual_seed(int(seed) + 7919)
    kw = dict(module=model, optimizer=optimizer, data_loader=loader, max_grad_norm=spec.max_grad_norm,
              poisson_sampling=True, noise_generator=noise, loss_reduction="mean")
    if spec.noise_multiplier is None:
        with _quiet_search():
            wrapped, opt, dl = engine.make_private_with_epsilon(target_epsilon=spec.epsilon, target_delta=spec.delta,
                                                                epochs=epochs, **kw)
    else:
        wrapped, opt, dl = engine.make_private(noise_multiplier=spec.noise_multiplier, **kw)
    return wrapped, opt, dl, engine


def close_private(wrapped: nn.Module) -> None:
    """Remove Opacus's hooks and per-sample gradients from the model (it is handed back plain)."""
    wrapped._close()


def describe(spec: DPSpec, engine: PrivacyEngine, opt: Any, rows: int) -> dict[str, Any]:
    """What a Trainer's DP-SGD spent: ``epsilon`` (the accountant's), ``delta``, noise, steps, …"""
    history = engine.accountant.history
    rate = float(history[-1][1]) if history else 0.0
    steps = sum(int(s) for _, _, s in history)
    return {"epsilon": float(engine.get_epsilon(spec.delta)) if steps else 0.0, "epsilon_target": spec.epsilon,
            "delta": spec.delta, "max_grad_norm": spec.max_grad_norm, "noise_multiplier": float(opt.noise_multiplier),
            "sample_rate": rate, "steps": steps, "accountant": spec.accountant, "rows": rows}


def pooled_summary(spent: dict[str, Any]) -> dict[str, Any]:
    """The ``dp`` section of ``metrics.json`` for a pooled (central) DP-SGD run: one data holder."""
    return {"level": "record", "epsilon": spent["epsilon"], "epsilon_target": spent["epsilon_target"],
            "delta": spent["delta"], "max_grad_norm": spent["max_grad_norm"],
            "noise_multiplier": spent["noise_multiplier"], "accountant": spent["accountant"],
            "per_client": {"pooled": spent}, "protects": PROTECTS, "does_not_protect": DOES_NOT_PROTECT}
