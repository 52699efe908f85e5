"""Knowledge distillation of a binary-logit teacher into a smaller student, through the Trainer.

The student learns from soft targets ``alpha * y + (1 - alpha) * sigmoid(teacher_logit / T)``
with the Trainer's own binary cross-entropy (which accepts targets in [0, 1]). During training
the student's logits are divided by the same temperature ``T``, so that at ``T > 1`` both sides
are softened alike (Hinton et al., 2015, for one output); the returned student is unwrapped and
outputs plain logits. Validation (early stopping) uses the hard labels.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from bentu.errors import ConfigError

__all__ = ["SoftTargetDataset", "teacher_logits", "distill"]


def _split(item: Any) -> tuple[tuple[torch.Tensor, ...], torch.Tensor, torch.Tensor | None]:
    x, y, *rest = item
    inputs = tuple(x) if isinstance(x, (tuple, list)) else (x,)
    return inputs, y, (rest[0] if rest else None)


@torch.no_grad()
def teacher_logits(teacher: nn.Module, dataset: Dataset, batch_size: int = 1024) -> torch.Tensor:
    """The teacher's logits over ``dataset`` in order (eval mode)."""
    teacher.eval()
    out = []
    for batch in DataLoader(dataset, batch_size=batch_size, shuffle=False):
        inputs, _, _ = _split(batch)
        out.append(teacher(*inputs).float())
    return torch.cat(out)


class SoftTargetDataset(Dataset):
    """``dataset`` with its labels replaced by soft targets from a teacher's logits."""

    def __init__(self, dataset: Dataset, logits: torch.Tensor, *, temperature: float = 1.0, alpha: float = 0.5):
        self.dataset = dataset
        self.soft = torch.sigmoid(logits / temperature)
        self.alpha = alpha

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int):
        x, y, *rest = self.dataset[i]
        target = self.alpha * y.float() + (1 - self.alpha) * self.soft[i]
        return (x, target, *rest)


class _Tempered(nn.Module):
    def __init__(self, model: nn.Module, temperature: float):
        super().__init__()
        self.model, self.temperature = model, temperature

    def forward(self, *x: torch.Tensor) -> torch.Tensor:
        return self.model(*x) / self.temperature


def distill(
    teacher: nn.Module,
    student: nn.Module,
    train_dataset: Dataset,
    val_dataset: Dataset | None = None,
    *,
    temperature: float = 1.0,
    alpha: float = 0.5,
    **trainer_kwargs: Any,
):
    """Train ``student`` (in place) to imitate ``teacher``; return the fitted Trainer.

    Parameters
    ----------
    teacher, student : nn.Module
        Models with the same inputs and one logit per target element.
    train_dataset, val_dataset : Dataset
        Items ``(x, y)`` or ``(x, y, mask)``, as for the Trainer.
    temperature : float
        Softening temperature ``T > 0``.
    alpha : float
        Weight in [0, 1] of the hard labels in the targets.
    **trainer_kwargs
        Passed to :class:`bentu.train.Trainer` (epochs, lr, batch_size, seed, ...).
    """
    from bentu.train.trainer import Trainer

    if not (isinstance(temperature, (int, float)) and temperature > 0):
        raise ConfigError(
            f"The 'temperature' parameter of distill must be a float in (0, inf). Got {temperature!r} instead.",
            f"distill 的参数 'temperature' 必须是 (0, inf) 内的数，实际为 {temperature!r}。",
        )
    if not (isinstance(alpha, (int, float)) and 0 <= alpha <= 1):
        raise ConfigError(
            f"The 'alpha' parameter of distill must be a float in [0, 1]. Got {alpha!r} instead.",
            f"distill 的参数 'alpha' 必须是 [0, 1] 内的数，实际为 {alpha!r}。",
        )
    logits = teacher_logits(teacher, train_dataset)
    soft = SoftTargetDataset(train_dataset, logits, temperature=temperature, alpha=alpha)
    trainer = Trainer(description="distilling", **trainer_kwargs)
    trainer.fit(_Tempered(student, float(temperature)), soft, val_dataset)
    student.eval()
    return trainer
