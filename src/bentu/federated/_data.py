"""Client data on disk: each client's Dataset materialised as tensors, so that ClientApps in
other processes (Ray actors in simulation, ``flwr-clientapp`` processes in deployment) load it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

__all__ = ["TensorItems", "save_dataset", "load_dataset", "safe_name"]


class TensorItems(Dataset):
    """Items ``(x, y)`` or ``(x, y, mask)`` indexed out of stacked tensors; ``x`` may be a tuple."""

    def __init__(self, x: torch.Tensor | tuple[torch.Tensor, ...], y: torch.Tensor, mask: torch.Tensor | None = None):
        self.x, self.y, self.mask = x, y, mask

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def __getitem__(self, i: int) -> tuple:
        x = tuple(t[i] for t in self.x) if isinstance(self.x, tuple) else self.x[i]
        return (x, self.y[i]) if self.mask is None else (x, self.y[i], self.mask[i])


def _stack(ds: Dataset) -> dict[str, Any]:
    batch = next(iter(DataLoader(ds, batch_size=max(len(ds), 1), shuffle=False)))
    x = batch[0]
    x = tuple(x) if isinstance(x, (list, tuple)) else x
    return {"x": x, "y": batch[1], "mask": batch[2] if len(batch) > 2 else None}


def save_dataset(ds: Dataset, path: Path) -> int:
    """Write every item of ``ds`` to ``path`` (``torch.save`` of stacked tensors); return its length."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(_stack(ds), path)
    return len(ds)


def load_dataset(path: Path) -> TensorItems:
    """Read a dataset written by :func:`save_dataset`."""
    d = torch.load(path, weights_only=True)
    x = tuple(d["x"]) if isinstance(d["x"], (list, tuple)) else d["x"]
    return TensorItems(x, d["y"], d["mask"])


def safe_name(name: str) -> str:
    """A file-name-safe form of a client name (letters of any script, digits, ``-_.``)."""
    return re.sub(r"[^\w.-]+", "_", str(name)).strip("._") or "client"
