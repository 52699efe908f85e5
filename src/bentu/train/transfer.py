"""Transfer learning: load pretrained weights (safetensors or a PyTorch state dict), freeze layers
by name prefix, fine-tune with a cosine learning-rate schedule, and keep source models pretrained
once per machine (:class:`SourceModelCache`).

:class:`FineTuneTrainer` extends :class:`bentu.train.Trainer` with two things the base loop
lacks: a per-batch cosine learning-rate schedule (with linear warm-up) and batch-norm layers of
frozen modules kept in eval mode, so their running statistics stay those of the source data.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import shutil
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

try:  # POSIX: serialise concurrent pretraining of the same source model
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

import torch
from torch import nn
from torch.utils.data import DataLoader

from bentu.errors import ConfigError, DataError
from bentu.train.trainer import Trainer, _split_batch

__all__ = ["FineTuneTrainer", "load_weights", "read_weights", "save_weights", "freeze", "WEIGHT_SUFFIXES",
           "SourceModelCache", "cache_dir"]

log = logging.getLogger(__name__)

WEIGHT_SUFFIXES = (".safetensors", ".pt", ".pth", ".bin")


def read_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a state dict from a ``.safetensors`` or PyTorch (``.pt``/``.pth``/``.bin``) file."""
    path = Path(path)
    if not path.is_file():
        raise DataError(
            f"Pretrained weights not found: {path}. Give a .safetensors file or a PyTorch state dict (.pt).",
            f"找不到预训练权重：{path}。请提供 .safetensors 文件或 PyTorch state dict（.pt）。",
        )
    if path.suffix not in WEIGHT_SUFFIXES:
        raise DataError(
            f"{path}: unknown weights format {path.suffix!r}; expected one of {', '.join(WEIGHT_SUFFIXES)}.",
            f"{path}：未知的权重格式 {path.suffix!r}；应为 {', '.join(WEIGHT_SUFFIXES)} 之一。",
        )
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # safetensors and torch raise several types for corrupt files
        raise DataError(f"{path}: cannot read the weights ({type(err).__name__}: {err}).",
                        f"{path}：无法读取权重（{type(err).__name__}: {err}）。") from err
    for key in ("model", "state_dict"):  # checkpoints that wrap the state dict
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise DataError(f"{path}: not a state dict (a mapping of parameter names to tensors).",
                        f"{path}：不是 state dict（参数名到张量的映射）。")
    return state


def load_weights(model: nn.Module, source: str | Path | dict[str, torch.Tensor]) -> dict:
    """Copy matching pretrained weights into ``model`` (in place).

    Tensors whose name and shape match are loaded; others (e.g. a classifier head of another
    shape) are skipped and reported.

    Parameters
    ----------
    source : path or state dict
        A ``.safetensors`` file, a PyTorch state dict file (``.pt``/``.pth``, optionally wrapped
        as ``{"model": ...}``), or a state dict.

    Returns
    -------
    dict
        ``{"loaded": n, "skipped_shape": [...], "missing": [...], "unexpected": [...]}``.

    Raises
    ------
    DataError
        Unreadable file, or no tensor matches the model.
    """
    state = dict(source) if isinstance(source, dict) else read_weights(source)
    own = model.state_dict()
    matched = {k: v for k, v in state.items() if k in own and tuple(own[k].shape) == tuple(v.shape)}
    skipped = sorted(k for k in state if k in own and k not in matched)
    where = source if not isinstance(source, dict) else "state dict"
    if not matched:
        raise DataError(
            f"{where}: none of its {len(state)} tensors matches the model's parameter names and shapes "
            f"(model keys start {sorted(own)[:3]}, file keys start {sorted(state)[:3]}).",
            f"{where}：其 {len(state)} 个张量与模型的参数名和形状都不匹配。",
        )
    model.load_state_dict(matched, strict=False)
    return {
        "loaded": len(matched),
        "skipped_shape": skipped,
        "missing": sorted(set(own) - set(matched)),
        "unexpected": sorted(set(state) - set(own)),
    }


def save_weights(model: nn.Module, path: str | Path) -> Path:
    """Save ``model``'s state dict as ``.safetensors`` or ``.pt`` (by suffix)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    if path.suffix == ".safetensors":
        from safetensors.torch import save_file

        save_file(state, str(path))
    else:
        torch.save(state, path)
    return path


def cache_dir() -> Path:
    """Where pretrained source models are kept: ``$BENTU_CACHE/pretrained`` (default ``~/.cache/bentu``)."""
    return Path(os.environ.get("BENTU_CACHE") or Path.home() / ".cache" / "bentu") / "pretrained"


class SourceModelCache:
    """A source model pretrained once per machine and reused while its settings are unchanged.

    The entry is ``<cache_dir>/<name>-<key>.safetensors`` (+ ``.json`` with the training result),
    ``key`` the first 16 hex digits of the SHA-256 of ``settings`` (sorted JSON): any change of
    data, model or training settings is another entry. Runs started together wait for one another
    (an exclusive lock on ``.lock``, held from :meth:`open` until :meth:`store` or :meth:`release`,
    or until ``stack`` closes) instead of all pretraining. A cache folder that cannot be created is
    not a reason to fail a run: :meth:`open` returns False and the run trains without caching.
    """

    def __init__(self, name: str, settings: dict):
        self.key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]
        self.path = cache_dir() / f"{name.lower()}-{self.key}.safetensors"
        self._lock = None

    def open(self, stack: ExitStack) -> bool:
        """Take the lock (waiting for a run that is pretraining the same model); False if not writable."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._lock = stack.enter_context(open(self.path.with_suffix(".lock"), "a"))
        except OSError as err:
            log.warning("pretrained-model cache %s is not writable (%s); not caching", self.path.parent, err)
            return False
        if fcntl is not None:
            fcntl.flock(self._lock, fcntl.LOCK_EX)
        return True

    def load(self) -> tuple[dict[str, torch.Tensor], dict] | None:
        """The cached weights and training result, or None when this entry was never stored."""
        meta = self.path.with_suffix(".json")
        if not (self.path.is_file() and meta.is_file()):
            return None
        return read_weights(self.path), json.loads(meta.read_text(encoding="utf-8"))

    def copy_to(self, target: Path) -> None:
        shutil.copyfile(self.path, target)

    def store(self, weights: Path, result: dict) -> None:
        """Keep ``weights`` (a safetensors file) and ``result``; release the lock."""
        tmp = self.path.with_suffix(".partial")
        shutil.copyfile(weights, tmp)
        os.replace(tmp, self.path)
        self.path.with_suffix(".json").write_text(json.dumps(result), encoding="utf-8")
        self.release()

    def release(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None


def _matches(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix.rstrip(".") + ".")


def select_layers(state: dict[str, torch.Tensor], prefixes: Sequence[str]) -> dict[str, torch.Tensor]:
    """The tensors of ``state`` whose name starts with one of ``prefixes`` (``transfer.layers``).

    Transferring only the early layers suits a source task unlike the local one: edges and
    textures carry over, the last stage is relearned. A prefix that matches no tensor is a
    ConfigError listing the top-level names.
    """
    for prefix in prefixes:
        if not any(_matches(n, prefix) for n in state):
            top = sorted({n.split(".")[0] for n in state})
            raise ConfigError(
                f"transfer.layers: no pretrained tensor name starts with {prefix!r}. "
                f"Top-level names in the weights: {', '.join(top)} (deeper names like 'stages.0' work too).",
                f"transfer.layers：没有预训练张量名以 {prefix!r} 开头。权重中的顶层名称：{', '.join(top)}（也可用 'stages.0' 这样的更深名称）。",
            )
    return {n: v for n, v in state.items() if any(_matches(n, p) for p in prefixes)}


def freeze(model: nn.Module, prefixes: Sequence[str]) -> list[str]:
    """Stop gradients for parameters whose name starts with one of ``prefixes``.

    Returns the frozen parameter names. An unknown prefix is a ConfigError listing the model's
    top-level modules.
    """
    names = [n for n, _ in model.named_parameters()]
    frozen: list[str] = []
    for prefix in prefixes:
        hits = [n for n in names if _matches(n, prefix)]
        if not hits:
            top = sorted({n.split(".")[0] for n in names})
            raise ConfigError(
                f"transfer.freeze: no parameter name starts with {prefix!r}. "
                f"Top-level modules of the model: {', '.join(top)} (deeper names like 'stages.0' work too).",
                f"transfer.freeze：没有参数名以 {prefix!r} 开头。模型的顶层模块：{', '.join(top)}（也可用 'stages.0' 这样的更深名称）。",
            )
        frozen += hits
    params = dict(model.named_parameters())
    for n in frozen:
        params[n].requires_grad_(False)
    model._bentu_frozen = tuple(prefixes)  # read by FineTuneTrainer to keep their batch norm fixed
    return sorted(set(frozen))


class FineTuneTrainer(Trainer):
    """:class:`~bentu.train.Trainer` with a cosine LR schedule and frozen batch norm.

    Parameters
    ----------
    warmup_epochs : float
        Linear warm-up length in epochs (0 for none).
    min_lr_ratio : float
        Final learning rate as a fraction of ``lr``.
    **kwargs
        Passed to :class:`~bentu.train.Trainer`.
    """

    def __init__(self, *, warmup_epochs: float = 1.0, min_lr_ratio: float = 0.01, **kwargs):
        super().__init__(**kwargs)
        self.warmup_epochs = warmup_epochs
        self.min_lr_ratio = min_lr_ratio

    def fit(self, model, train, val=None):  # noqa: D102 - same contract as Trainer.fit
        self._step = 0
        return super().fit(model, train, val)

    def _lr_at(self, step: int, steps_per_epoch: int) -> float:
        total = max(self.epochs * steps_per_epoch, 1)
        warm = self.warmup_epochs * steps_per_epoch
        if step < warm:
            return self.lr * (step + 1) / warm
        progress = min((step - warm) / max(total - warm, 1), 1.0)
        return self.lr * (self.min_lr_ratio + (1 - self.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))

    def _train_epoch(self, model: nn.Module, loader: DataLoader, opt: torch.optim.Optimizer) -> float:
        model.train()
        for prefix in getattr(model, "_bentu_frozen", ()):
            for name, module in model.named_modules():
                if (name == prefix or name.startswith(prefix.rstrip(".") + ".")) and isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.eval()
        total, count = 0.0, 0
        for batch in loader:
            inputs, y, mask = _split_batch(batch)
            if y.shape[0] < 2:
                continue  # a batch of one cannot be batch-normalised
            for group in opt.param_groups:
                group["lr"] = self._lr_at(self._step, len(loader))
            self._step += 1
            loss, n = self._train_step(model, opt, inputs, y, mask)
            total += loss * n
            count += n
        return total / max(count, 1)
