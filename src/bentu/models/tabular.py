"""Tabular models: a multilayer perceptron that outputs one logit per row."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from bentu.models._registry import register_model

__all__ = ["TabularMLP"]


class TabularMLP(nn.Module):
    """MLP for binary classification of preprocessed rows: ``(b, f) -> (b,)`` logits."""

    def __init__(self, in_features: int, hidden: Sequence[int] = (128, 64), dropout: float = 0.1):
        super().__init__()
        layers: list[nn.Module] = []
        width = in_features
        for h in hidden:
            # BatchNorm keeps the scale of mixed one-hot / standardised inputs in check.
            layers += [nn.Linear(width, h), nn.BatchNorm1d(h), nn.ReLU(), nn.Dropout(dropout)]
            width = h
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(width, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x)).squeeze(-1)  # (b,)


def _tabular_example(batch_size: int = 4, *, in_features: int, **_: object) -> tuple[torch.Tensor, ...]:
    return (torch.randn(batch_size, in_features),)


@register_model("tabular_mlp", family="tabular", example=_tabular_example)
def tabular_mlp(*, in_features: int, hidden: Sequence[int] = (128, 64), dropout: float = 0.1) -> nn.Module:
    """Multilayer perceptron for tabular rows (ReLU, batch norm, dropout)."""
    return TabularMLP(in_features, list(hidden), dropout)
