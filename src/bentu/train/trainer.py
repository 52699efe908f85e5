"""The Trainer: one training loop for every model family.

Batches are tuples ``(x, y)`` or ``(x, y, mask)``. ``x`` is a tensor or a tuple of tensors
(passed to the model as positional arguments); the model returns one logit per target element,
with the same shape as ``y``. ``mask`` (same shape as ``y``, bool) marks the elements that count,
so sequence models (one prediction per time step) train with the same loop as tabular ones.

With ``objective="causal_lm"`` the same loop tunes a language model: batches are
``((input_ids, attention_mask), labels)``, the model returns next-token logits (a Hugging Face
model's output or a tensor), the loss is the mean cross-entropy over the label tokens that are not
``-100``, and only the trainable parameters (a LoRA adapter's) are kept, checkpointed and restored.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import math
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from bentu.errors import ConfigError
from bentu.metrics import roc_auc
from bentu.train.device import device_info, resolve_device

__all__ = ["Trainer", "make_optimizer", "OPTIMIZERS", "seed_everything", "dp_settings"]

log = logging.getLogger(__name__)

OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python-visible RNGs (torch, numpy) and return a torch generator for data order."""
    torch.manual_seed(seed)
    np.random.seed(seed % (2**32))
    return torch.Generator().manual_seed(seed)


def make_optimizer(name: str, params: Iterable[nn.Parameter], lr: float, weight_decay: float = 0.0) -> torch.optim.Optimizer:
    """Build an optimizer by name: ``adam``, ``adamw``, ``sgd`` (momentum 0.9) or ``rmsprop``."""
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, weight_decay=weight_decay)
    raise ConfigError(
        f"The 'optimizer' parameter must be one of {', '.join(OPTIMIZERS)}. Got {name!r} instead.",
        f"参数 'optimizer' 必须是 {', '.join(OPTIMIZERS)} 之一，实际为 {name!r}。",
    )


def dp_settings(dp: Any, rows: int) -> dict | None:
    """``Trainer(dp=…)`` for a recipe's ``train.dp`` and ``rows`` training rows (δ default:
    1 / (10 · rows), below 1 / rows), or None when ``dp`` is None."""
    if dp is None:
        return None
    delta = dp.delta if dp.delta is not None else 1.0 / (10 * max(int(rows), 1))
    return {"epsilon": dp.epsilon, "delta": delta, "max_grad_norm": dp.max_grad_norm, "accountant": dp.accountant}


def _split_batch(batch: Any) -> tuple[tuple[torch.Tensor, ...], torch.Tensor, torch.Tensor | None]:
    x, y = batch[0], batch[1]
    mask = batch[2] if len(batch) > 2 else None
    inputs = tuple(x) if isinstance(x, (list, tuple)) else (x,)
    return inputs, y, mask


class Trainer:
    """Train a binary-logit model with early stopping on a validation metric.

    Parameters
    ----------
    optimizer : {"adam", "adamw", "sgd", "rmsprop"}
    lr, weight_decay : float
    epochs : int
        Maximum number of epochs.
    batch_size : int
    patience : int
        Stop after this many epochs without improvement of ``monitor`` on validation data.
    seed : int
        Seeds weights initialisation order and data shuffling: same seed, same numbers.
    monitor : {"auc", "loss"}
        ``objective="causal_lm"`` always monitors the validation loss.
    objective : {"binary", "causal_lm"}
        ``binary`` (default): one logit per target element, binary cross-entropy. ``causal_lm``:
        next-token cross-entropy of a language model (see the module docstring); early stopping on
        validation loss, ``val_ppl`` (its exponential) in the history. Refused with it:
        ``mixup``, ``ema_decay``, ``pos_weight``, ``channels_last`` and ``dp``.
    pos_weight : float, optional
        Weight of positive examples in the loss (class imbalance).
    grad_clip : float, optional
        Clip the gradient norm to this value.
    extra_loss : callable, optional
        ``extra_loss(model) -> Tensor`` added to every batch loss (e.g. FedProx's proximal term).
    checkpoint_dir : Path, optional
        Where ``best.pt`` and ``last.pt`` are written after each epoch.
    progress : bool
        Show a progress bar (Rich, on stderr).
    on_epoch_end : callable, optional
        ``on_epoch_end(record: dict)`` after every epoch.
    ema_decay : float, optional
        Keep an exponential moving average of the weights (and batch-norm statistics) with this
        decay per step, e.g. 0.99; validation, early stopping and the returned weights use the
        average. It smooths the step-to-step noise that a small validation set would otherwise
        pick a checkpoint from.
    mixup : float
        Mixup (Zhang et al., 2018) with ``Beta(mixup, mixup)`` weights: each batch is mixed with
        a shuffled copy of itself, inputs and targets alike. ``0`` (default) turns it off. Only
        for batches of one input tensor without a mask; others raise :class:`ConfigError`.
    channels_last : bool
        Train and validate with the model's 4-D weights and the 4-D input batches in channels-last
        memory layout, which oneDNN's CPU convolutions run faster (a quarter less time per step
        for ``resnet_small``, with or without attention; ``bench/trainer_speed.py``). The numbers
        agree up to float rounding, so runs are not bit-identical with and without it. ``fit``
        returns the model in the default layout. Other tensors (tables, sequences) are unaffected.
    device : {"cpu", "auto", "cuda", "cuda:N"} or torch.device
        Where to train (:func:`bentu.train.device.resolve_device`). On the CPU (the default) the
        operations are exactly those without the option. On CUDA the model and each batch move to
        the device, the forward pass runs under bfloat16 autocast when the GPU supports it, and
        ``fit`` hands the model back on the CPU. ``device_`` records what was used.
    dp : DPSpec or dict, optional
        Record-level differential privacy: DP-SGD with Opacus (:mod:`bentu.train.dp`), keys
        ``epsilon``, ``delta``, ``max_grad_norm``, ``accountant`` (``rdp``) and, for federated
        clients, ``noise_multiplier``. Batches are Poisson-sampled; the noise is calibrated to reach
        ``epsilon`` after ``epochs`` epochs (early stopping spends less, and ``dp_`` says how much).
        Refused, with :class:`ConfigError`: models with layers Opacus cannot train per record
        (batch norm), ``mixup`` (it mixes records), ``grad_clip`` (DP-SGD clips per record) and
        ``extra_loss`` (its gradient would bypass the clipping). EMA and the choice of the best
        epoch on validation data are post-processing and keep the guarantee.
    """

    _ema = None  # the weight average while fit() runs with ema_decay

    def __init__(
        self,
        *,
        optimizer: str = "adam",
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        epochs: int = 30,
        batch_size: int = 512,
        patience: int = 5,
        seed: int = 0,
        monitor: str = "auc",
        pos_weight: float | None = None,
        grad_clip: float | None = None,
        extra_loss: Callable[[nn.Module], torch.Tensor] | None = None,
        checkpoint_dir: str | Path | None = None,
        progress: bool = False,
        on_epoch_end: Callable[[dict], None] | None = None,
        description: str = "training",
        ema_decay: float | None = None,
        mixup: float = 0.0,
        channels_last: bool = False,
        device: str | torch.device = "cpu",
        dp: Any = None,
        objective: str = "binary",
    ):
        self.optimizer = optimizer
        self.lr = lr
        self.weight_decay = weight_decay
        self.epochs = epochs
        self.batch_size = batch_size
        self.patience = patience
        self.seed = seed
        self.monitor = monitor
        self.pos_weight = pos_weight
        self.grad_clip = grad_clip
        self.extra_loss = extra_loss
        self.checkpoint_dir = checkpoint_dir
        self.progress = progress
        self.on_epoch_end = on_epoch_end
        self.description = description
        self.ema_decay = ema_decay
        self.mixup = mixup
        self.channels_last = channels_last
        self.device = device
        self.dp = dp
        self.objective = objective

    # -- validation of parameters (once, at the boundary) -------------------------------
    def _validate(self) -> None:
        checks = [
            ("lr", self.lr, lambda v: isinstance(v, (int, float)) and v > 0, "a float in (0, inf)"),
            ("epochs", self.epochs, lambda v: isinstance(v, int) and v >= 1, "an int >= 1"),
            ("batch_size", self.batch_size, lambda v: isinstance(v, int) and v >= 1, "an int >= 1"),
            ("patience", self.patience, lambda v: isinstance(v, int) and v >= 1, "an int >= 1"),
            ("monitor", self.monitor, lambda v: v in ("auc", "loss"), "'auc' or 'loss'"),
            ("ema_decay", self.ema_decay, lambda v: v is None or (isinstance(v, (int, float)) and 0 < v < 1),
             "None or a float in (0, 1)"),
            ("mixup", self.mixup, lambda v: isinstance(v, (int, float)) and v >= 0, "a float >= 0"),
            ("channels_last", self.channels_last, lambda v: isinstance(v, bool), "a bool"),
            ("objective", self.objective, lambda v: v in ("binary", "causal_lm"), "'binary' or 'causal_lm'"),
        ]
        for name, value, ok, expected in checks:
            if not ok(value):
                raise ConfigError(
                    f"The {name!r} parameter of Trainer must be {expected}. Got {value!r} instead.",
                    f"Trainer 的参数 {name!r} 必须是 {expected}，实际为 {value!r}。",
                )
        if self.objective == "causal_lm":
            self._validate_lm()
        if self.dp is not None:
            self._validate_dp()

    def _validate_lm(self) -> None:
        refused = [(self.mixup, "mixup"), (self.ema_decay, "ema_decay"), (self.pos_weight, "pos_weight"),
                   (self.channels_last, "channels_last"), (self.dp is not None, "dp")]
        for value, name in refused:
            if value:
                raise ConfigError(
                    f"The {name!r} parameter of Trainer does not apply to objective='causal_lm' (language-model "
                    f"tuning). Remove it.",
                    f"Trainer 的参数 {name!r} 不适用于 objective='causal_lm'（语言模型微调）。请去掉它。",
                )

    @property
    def _lm(self) -> bool:
        return self.objective == "causal_lm"

    @staticmethod
    def _trainable(model: nn.Module) -> set[str]:
        return {n for n, p in model.named_parameters() if p.requires_grad}

    def _kept_state(self, model: nn.Module) -> dict:
        """What early stopping keeps: the whole state dict, or for a language model its trainable part."""
        state = model.state_dict()
        if not self._lm:
            return copy.deepcopy(state)
        names = self._trainable(model)
        return {k: v.detach().clone() for k, v in state.items() if k in names}

    def _dp_spec(self):
        from bentu.train.dp import DPSpec

        return self.dp if isinstance(self.dp, DPSpec) else DPSpec(**dict(self.dp))

    def _validate_dp(self) -> None:
        from bentu.train.dp import check_dp_params

        spec = self._dp_spec()
        check_dp_params(spec.epsilon, spec.delta, spec.max_grad_norm, spec.accountant)
        refused = [(self.mixup, "mixup", "mixup blends each record with another, so one record's influence is no "
                    "longer bounded by the clipping", "mixup 会把每条记录与另一条混合，单条记录的影响不再受裁剪约束"),
                   (self.grad_clip, "grad_clip", "DP-SGD already clips every record's gradient to train.dp.max_grad_norm",
                    "DP-SGD 已将每条记录的梯度裁剪到 train.dp.max_grad_norm"),
                   (self.extra_loss is not None, "extra_loss (e.g. FedProx's proximal term)", "its gradient would "
                    "bypass the per-record clipping", "其梯度会绕过逐条记录的裁剪")]
        for value, name, why_en, why_zh in refused:
            if value:
                raise ConfigError(
                    f"train.dp cannot be combined with {name}: {why_en}, which breaks the DP guarantee. "
                    f"Remove one of the two.",
                    f"train.dp 不能与 {name} 同时使用：{why_zh}，差分隐私保证将失效。请去掉其中之一。",
                )

    def _loss(self, logits: torch.Tensor, y: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        if self._lm:
            return _next_token_loss(logits, y)[0]
        y = y.to(logits.dtype)
        pw = None if self.pos_weight is None else torch.tensor(self.pos_weight, dtype=logits.dtype)
        if mask is not None:
            logits, y = logits[mask], y[mask]
        return nn.functional.binary_cross_entropy_with_logits(logits, y, pos_weight=pw)

    def fit(self, model: nn.Module, train: Dataset, val: Dataset | None = None) -> "Trainer":
        """Train ``model`` in place on ``train``; keep the weights of the best validation epoch.

        Returns ``self``; learned state: ``history_``, ``best_epoch_``, ``best_score_``,
        ``stopped_early_``, ``train_seconds_``, ``dp_`` (with ``dp``: the ε the accountant spent,
        δ, noise multiplier, sampling rate, steps; otherwise None).
        """
        self._validate()
        self._dev = resolve_device(self.device)
        self.device_ = device_info(self._dev)
        if self._dev.type != "cpu":
            model.to(self._dev)
        generator = seed_everything(self.seed)
        loader = DataLoader(train, batch_size=self.batch_size, shuffle=True, generator=generator)
        if self.channels_last:
            model.to(memory_format=torch.channels_last)  # in place: the same parameters, another layout
        params = [q for q in model.parameters() if q.requires_grad] if self._lm else model.parameters()
        opt = make_optimizer(self.optimizer, params, self.lr, self.weight_decay)
        self._ema = _make_ema(model, self.ema_decay)
        private, engine, spec, self.dp_ = None, None, None, None
        if self.dp is not None:
            from bentu.train.dp import make_private, quiet_hooks

            spec = self._dp_spec()
            private, opt, loader, engine = make_private(model, opt, loader, spec, self.epochs, self.seed)
        evaluated = self._ema.module if self._ema is not None else model
        higher_better = self.monitor == "auc" and not self._lm
        best_score, best_state, best_epoch, bad_epochs = -math.inf, None, 0, 0
        self.history_: list[dict] = []
        self.stopped_early_ = False
        ckpt = Path(self.checkpoint_dir) if self.checkpoint_dir else None
        if ckpt:
            ckpt.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        with _progress(self.progress, self.description, self.epochs) as advance:
            for epoch in range(1, self.epochs + 1):
                if private is None:
                    train_loss = self._train_epoch(model, loader, opt)
                else:
                    with quiet_hooks():
                        train_loss = self._train_epoch(private, loader, opt)
                record: dict[str, Any] = {"epoch": epoch, "train_loss": train_loss}
                if val is not None and self._lm:
                    val_loss = self.lm_loss(evaluated, val)
                    record.update(val_loss=val_loss, val_ppl=_ppl(val_loss))
                    score = -val_loss
                elif val is not None:
                    p, y, val_loss = self._predict(evaluated, val, with_loss=True)
                    record.update(val_loss=val_loss, val_auc=roc_auc(y, p))
                    score = record["val_auc"] if higher_better else -val_loss
                else:
                    score = -train_loss
                score = -math.inf if math.isnan(score) else score
                improved = score > best_score
                if improved:
                    best_score, best_epoch, bad_epochs = score, epoch, 0
                    best_state = self._kept_state(evaluated)
                else:
                    bad_epochs += 1
                self.history_.append(record)
                if ckpt:
                    self._save_checkpoints(ckpt, model, opt, epoch, improved, evaluated)
                if self.on_epoch_end:
                    self.on_epoch_end(record)
                advance(record)
                if bad_epochs >= self.patience:
                    self.stopped_early_ = True
                    break
        if private is not None:
            from bentu.train.dp import close_private, describe

            self.dp_ = describe(spec, engine, opt, len(train))
            close_private(private)
        if best_state is None and self._ema is not None:
            best_state = self._ema.module.state_dict()
        if best_state is not None:
            model.load_state_dict(best_state, strict=not self._lm)
        if self.channels_last:
            model.to(memory_format=torch.contiguous_format)  # handed back as without the option
        if self._dev.type != "cpu":
            model.to("cpu")
            self._dev = torch.device("cpu")  # later predictions run where the model now is
        self._ema = None
        self.best_epoch_ = best_epoch
        self.best_score_ = best_score if higher_better else -best_score
        self.train_seconds_ = time.perf_counter() - start
        return self

    def _train_epoch(self, model: nn.Module, loader: DataLoader, opt: torch.optim.Optimizer) -> float:
        model.train()
        total, count = 0.0, 0
        for batch in loader:
            inputs, y, mask = _split_batch(batch)
            if y.shape[0] < 2 and any(isinstance(m, nn.BatchNorm1d) for m in model.modules()):
                continue  # a batch of one cannot be batch-normalised
            loss, n = self._train_step(model, opt, inputs, y, mask)
            if n or self.dp is None:  # a Poisson-sampled (DP-SGD) batch may be empty; it still steps
                total += loss * n
                count += n
        return total / max(count, 1)

    def _train_step(self, model: nn.Module, opt: torch.optim.Optimizer, inputs: tuple[torch.Tensor, ...], y: torch.Tensor,
              mask: torch.Tensor | None) -> tuple[float, int]:
        """One optimisation step on one batch (mixup, loss, backward, clipping, weight average);
        the batch's mean loss and the number of target elements it counted."""
        opt.zero_grad(set_to_none=True)
        inputs, y, mask = self._to_device(inputs, y, mask)
        inputs, y = self._mix(self._layout(inputs), y, mask)
        with self._autocast():
            logits = _logits(model(*inputs))
        if self._lm:
            loss, n_tokens = _next_token_loss(logits.float(), y)
        else:
            loss = self._loss(logits.float(), y, mask)
        if self.extra_loss is not None:
            loss = loss + self.extra_loss(model)
        loss.backward()
        if self.grad_clip:
            nn.utils.clip_grad_norm_(model.parameters(), self.grad_clip)
        opt.step()
        if self._ema is not None:
            self._ema.update_parameters(model)
        if self._lm:
            return float(loss.detach()), n_tokens
        return float(loss.detach()), int(mask.sum()) if mask is not None else y.numel()

    _dev = torch.device("cpu")

    def _to_device(self, inputs: tuple[torch.Tensor, ...], y: torch.Tensor, mask: torch.Tensor | None):
        """The batch on the training device (unchanged on the CPU)."""
        if self._dev.type == "cpu":
            return inputs, y, mask
        move = lambda t: t.to(self._dev, non_blocking=True)  # noqa: E731
        return tuple(move(x) for x in inputs), move(y), None if mask is None else move(mask)

    def _autocast(self):
        """bfloat16 autocast of the forward pass on a CUDA device that supports it; else nothing."""
        if self._dev.type == "cuda" and torch.cuda.is_bf16_supported():
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _layout(self, inputs: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        """The 4-D inputs in channels-last layout when ``channels_last`` is on; others unchanged."""
        if not self.channels_last:
            return inputs
        return tuple(x.contiguous(memory_format=torch.channels_last) if x.dim() == 4 else x for x in inputs)

    def _mix(self, inputs: tuple[torch.Tensor, ...], y: torch.Tensor,
             mask: torch.Tensor | None) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
        """Mixup of one batch (inputs and soft targets), or the batch unchanged."""
        if not self.mixup or y.shape[0] < 2:
            return inputs, y
        if mask is not None or len(inputs) != 1:
            raise ConfigError(
                "mixup needs batches of one input tensor without a mask (images, tables); "
                "this model's batches have a mask or several inputs. Set train.mixup to 0.",
                "mixup 只适用于单个输入张量且无掩码的批次（图像、表格）；此模型的批次带掩码或有多个输入。"
                "请将 train.mixup 设为 0。",
            )
        lam = float(np.random.beta(self.mixup, self.mixup))
        perm = torch.randperm(y.shape[0])
        x = inputs[0]
        mixed = lam * x + (1 - lam) * x[perm]
        return (mixed,), lam * y.to(mixed.dtype) + (1 - lam) * y[perm].to(mixed.dtype)

    def _save_checkpoints(self, ckpt: Path, model: nn.Module, opt: torch.optim.Optimizer, epoch: int, improved: bool,
                          evaluated: nn.Module) -> None:
        weights = self._kept_state if self._lm else (lambda m: m.state_dict())  # an adapter, not the base model
        state = {"epoch": epoch, "model": weights(model), "optimizer": opt.state_dict(), "history": self.history_}
        if evaluated is not model:
            state["ema"] = evaluated.state_dict()
        torch.save(state, ckpt / "last.pt")
        if improved:
            torch.save({"epoch": epoch, "model": weights(evaluated)}, ckpt / "best.pt")

    @torch.no_grad()
    def _predict(self, model: nn.Module, data: Dataset, with_loss: bool = False):
        model.eval()
        probs, labels, loss_sum, count = [], [], 0.0, 0
        for batch in DataLoader(data, batch_size=max(self.batch_size, 1024), shuffle=False):
            inputs, y, mask = self._to_device(*_split_batch(batch))
            with self._autocast():
                logits = model(*self._layout(inputs)).float()
            if with_loss:
                n = int(mask.sum()) if mask is not None else y.numel()
                loss_sum += float(self._loss(logits, y, mask)) * n
                count += n
            if mask is not None:
                logits, y = logits[mask], y[mask]
            probs.append(torch.sigmoid(logits).reshape(-1).cpu().numpy())
            labels.append(y.reshape(-1).cpu().numpy())
        p = np.concatenate(probs) if probs else np.zeros(0)
        y = np.concatenate(labels) if labels else np.zeros(0)
        return (p, y, loss_sum / max(count, 1)) if with_loss else (p, y)

    def predict_proba(self, model: nn.Module, data: Dataset) -> tuple[np.ndarray, np.ndarray]:
        """Predicted probabilities and labels of the (masked) target elements of ``data``."""
        return self._predict(model, data)

    @torch.no_grad()
    def lm_loss(self, model: nn.Module, data: Dataset) -> float:
        """Mean next-token cross-entropy of ``model`` over the label tokens of ``data`` (its log perplexity).

        ``data`` yields ``((input_ids, attention_mask), labels)`` with ``-100`` for tokens that do not count.
        """
        model.eval()
        dev = next(model.parameters()).device  # where the model is; batches follow it
        total, count = 0.0, 0
        for batch in DataLoader(data, batch_size=self.batch_size, shuffle=False):
            inputs, y, _ = _split_batch(batch)
            if dev.type != "cpu":
                inputs, y = tuple(t.to(dev) for t in inputs), y.to(dev)
            with torch.autocast("cuda", dtype=torch.bfloat16) if dev.type == "cuda" and torch.cuda.is_bf16_supported() \
                    else contextlib.nullcontext():
                logits = _logits(model(*inputs))
            loss, n = _next_token_loss(logits.float(), y)
            total += float(loss) * n
            count += n
        return total / max(count, 1)


def _logits(out: Any) -> torch.Tensor:
    """A model's logits: the tensor itself, or ``.logits`` of a Hugging Face output."""
    return out if isinstance(out, torch.Tensor) else out.logits


def _next_token_loss(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Mean cross-entropy of token t+1 given tokens ≤ t over labels that are not -100, and their count."""
    shift_logits, shift_labels = logits[:, :-1, :], labels[:, 1:]
    n = int((shift_labels != -100).sum())
    if n == 0:
        return shift_logits.sum() * 0.0, 0
    loss = nn.functional.cross_entropy(shift_logits.reshape(-1, shift_logits.shape[-1]), shift_labels.reshape(-1),
                                       ignore_index=-100, reduction="sum")
    return loss / n, n


def _ppl(loss: float) -> float:
    return float(math.exp(min(loss, 50.0)))


def _make_ema(model: nn.Module, decay: float | None):
    """An exponential moving average of ``model`` (weights and buffers), or None."""
    if decay is None:
        return None
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)


class _progress:
    """A Rich progress bar over epochs (on stderr), or nothing when disabled."""

    def __init__(self, enabled: bool, description: str, total: int):
        self.enabled, self.description, self.total = enabled, description, total

    def __enter__(self) -> Callable[[dict], None]:
        if not self.enabled:
            return lambda record: None
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._bar = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("{task.fields[info]}"), console=Console(stderr=True), transient=True,
        )
        self._bar.__enter__()
        task = self._bar.add_task(self.description, total=self.total, info="")

        def advance(record: dict) -> None:
            info = f"val_auc={record['val_auc']:.4f}" if "val_auc" in record else f"loss={record['train_loss']:.4f}"
            self._bar.update(task, advance=1, info=info)

        return advance

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self._bar.__exit__(*exc)
