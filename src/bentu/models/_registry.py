"""One registry for every model family: ``create_model(name, **cfg)`` and ``list_models``.

Each entry is a small factory function registered with :func:`register_model`. An entry also
knows how to build an example input, so that one conformance test (ONNX export, parity) can run
over every registered model.
"""

from __future__ import annotations

import difflib
import fnmatch
import inspect
from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import nn

from bentu.errors import ConfigError

__all__ = ["ModelEntry", "register_model", "create_model", "list_models", "get_entry", "example_inputs"]


@dataclass(frozen=True)
class ModelEntry:
    """A registered model: its factory, family and example-input builder."""

    name: str
    family: str  # "tabular" | "vision" | "sequence" | "graph"
    factory: Callable[..., nn.Module]
    example: Callable[..., tuple[torch.Tensor, ...]]
    input_names: tuple[str, ...]
    description: str


_REGISTRY: dict[str, ModelEntry] = {}


def register_model(
    name: str,
    *,
    family: str,
    example: Callable[..., tuple[torch.Tensor, ...]],
    input_names: tuple[str, ...] = ("input",),
) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Register a model factory under ``name``.

    ``example(batch_size=..., **cfg)`` must return a tuple of input tensors for that config.
    """

    def decorator(factory: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _REGISTRY:
            raise KeyError(f"model {name!r} is registered twice")
        doc = (factory.__doc__ or "").strip().splitlines()
        _REGISTRY[name] = ModelEntry(name, family, factory, example, input_names, doc[0] if doc else "")
        return factory

    return decorator


def _ensure_loaded() -> None:
    # Importing the package registers every family (the registry is filled at import time).
    import bentu.models  # noqa: F401


def get_entry(name: str) -> ModelEntry:
    """Return the registry entry for ``name``; unknown names get close-match suggestions."""
    _ensure_loaded()
    if name not in _REGISTRY:
        close = difflib.get_close_matches(name, sorted(_REGISTRY), n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        known = ", ".join(sorted(_REGISTRY))
        raise ConfigError(
            f"Unknown model {name!r}.{hint} Registered models: {known}.",
            f"未知模型 {name!r}。{('您是否想用 ' + '、'.join(close) + '？') if close else ''}已注册的模型：{known}。",
        )
    return _REGISTRY[name]


def _check_kwargs(entry: ModelEntry, cfg: dict[str, Any]) -> None:
    params = inspect.signature(entry.factory).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    unknown = sorted(set(cfg) - set(params))
    if unknown:
        allowed = ", ".join(sorted(params))
        raise ConfigError(
            f"Model {entry.name!r} got unknown parameter(s) {', '.join(map(repr, unknown[:5]))}. "
            f"Its parameters are: {allowed}.",
            f"模型 {entry.name!r} 不接受参数 {', '.join(map(repr, unknown[:5]))}。可用参数：{allowed}。",
        )


def create_model(name: str, **cfg: Any) -> nn.Module:
    """Build the model registered as ``name`` with keyword config ``cfg``.

    Examples
    --------
    >>> m = create_model("tabular_mlp", in_features=10, hidden=[32])
    """
    entry = get_entry(name)
    _check_kwargs(entry, cfg)
    return entry.factory(**cfg)


def example_inputs(name: str, batch_size: int = 4, **cfg: Any) -> tuple[torch.Tensor, ...]:
    """Example inputs for model ``name`` with config ``cfg`` (for export and conformance tests)."""
    return get_entry(name).example(batch_size=batch_size, **cfg)


def list_models(pattern: str = "*", *, family: str | None = None) -> list[str]:
    """Names of registered models matching a glob ``pattern`` (and ``family``), sorted."""
    _ensure_loaded()
    return sorted(
        n for n, e in _REGISTRY.items() if fnmatch.fnmatch(n, pattern) and (family is None or e.family == family)
    )
