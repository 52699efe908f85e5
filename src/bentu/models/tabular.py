"""Tabular models: a multilayer perceptron that outputs one logit per row."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from bentu.errors import ConfigError
from bentu.models._registry import register_model

__all__ = ["TabularMLP", "NORMS"]

NORMS = ("batch", "layer", "none")


class TabularMLP(nn.Module):
    """MLP for binary classification of preprocessed rows: ``(b, f) -> (b,)`` logits."""

    def __init__(self, in_features: int, hidden: Sequence[int] = (128, 64), dropout: float = 0.1,
                 norm: str = "batch"):
        super().__init__()
        if norm not in NORMS:
            raise ConfigError(
                f"The 'norm' parameter of tabular_mlp must be one of {', '.join(NORMS)}. Got {norm!r} instead.",
                f"tabular_mlp 的参数 'norm' 必须是 {', '.join(NORMS)} 之一，实际为 {norm!r}。",
            )
        layers: list[nn.Module] = []
        width = in_features
        for h in hidden:
            # BatchNorm keeps the scale of mixed one-hot / standardised inputs in check. It mixes
            # the rows of a batch, so DP-SGD (per-record gradients) needs norm="layer" or "none".
            layers += [nn.Linear(width, h), *_norm(norm, h), nn.ReLU(), nn.Dropout(dropout)]
            width = h
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(width, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x)).squeeze(-1)  # (b,)


def _norm(norm: str, width: int) -> list[nn.Module]:
    if norm == "batch":
        return [nn.BatchNorm1d(width)]
    if norm == "layer":
        return [nn.LayerNorm(width)]
    return []


def _tabular_example(batch_size: int = 4, *, in_features: int, **_: object) -> tuple[torch.Tensor, ...]:
    return (torch.randn(batch_size, in_features),)


@register_model("tabular_mlp", family="tabular", example=_tabular_example)
def tabular_mlp(*, in_features: int, hidden: Sequence[int] = (128, 64), dropout: float = 0.1,
                norm: str = "batch") -> nn.Module:
    """Multilayer perceptron for tabular rows (ReLU, ``norm`` = batch | layer | none, dropout)."""
    return TabularMLP(in_features, list(hidden), dropout, norm)
