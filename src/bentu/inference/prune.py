"""Magnitude and structured pruning of a PyTorch model, with fine-tuning through the Trainer.

Unstructured (magnitude) pruning zeroes the individual weights of smallest absolute value across
all prunable layers together; structured pruning zeroes whole output channels (rows of a linear
layer, filters of a convolution) with the smallest L2 norm, layer by layer. The last layer (the
one that produces the logit) is never pruned. After fine-tuning, the pruning is made permanent.

Note: zeroed weights are still stored densely in ONNX, so a pruned model's file is as large as
the original and runs as fast; the gain shows once it is quantized or compressed on disk.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from torch import nn
from torch.nn.utils import prune as tprune

from bentu.errors import ConfigError

__all__ = ["prunable_layers", "prune_model", "sparsity"]

log = logging.getLogger(__name__)
_PRUNABLE = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


def prunable_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """``(name, module)`` of the linear and convolution layers, without the last (output) one."""
    layers = [(n, m) for n, m in model.named_modules() if isinstance(m, _PRUNABLE)]
    return layers[:-1]


def sparsity(model: nn.Module) -> float:
    """Fraction of zero weights over the prunable layers."""
    layers = prunable_layers(model)
    total = sum(m.weight.numel() for _, m in layers)
    zeros = sum(int((m.weight == 0).sum()) for _, m in layers)
    return zeros / total if total else 0.0


def prune_model(
    model: nn.Module,
    *,
    amount: float,
    structured: bool = False,
    train_dataset: Any = None,
    val_dataset: Any = None,
    finetune_epochs: int = 3,
    trainer_kwargs: dict | None = None,
) -> tuple[nn.Module, dict]:
    """Return a pruned, fine-tuned copy of ``model`` and a summary.

    Parameters
    ----------
    model : nn.Module
        A trained model; it is not modified.
    amount : float
        Fraction in [0, 1) of weights (or channels, when ``structured``) to remove.
    structured : bool
        Remove whole output channels (L2 norm) instead of single weights (L1 magnitude).
    train_dataset, val_dataset : Dataset, optional
        Fine-tuning data for :class:`bentu.train.Trainer`; no fine-tuning without it.
    finetune_epochs : int
    trainer_kwargs : dict, optional
        Other Trainer parameters (lr, batch_size, seed, ...).

    Returns
    -------
    (nn.Module, dict)
        The pruned model (eval mode) and ``{"method", "amount", "sparsity", "finetune_epochs"}``.
    """
    if not isinstance(amount, (int, float)) or not 0 <= amount < 1:
        raise ConfigError(
            f"The 'amount' parameter of prune_model must be a float in [0, 1). Got {amount!r} instead.",
            f"prune_model 的参数 'amount' 必须是 [0, 1) 内的小数，实际为 {amount!r}。",
        )
    pruned = copy.deepcopy(model)
    layers = prunable_layers(pruned)
    if not layers:
        raise ConfigError(
            f"{type(model).__name__} has no linear or convolution layer besides its output layer to prune.",
            f"{type(model).__name__} 除输出层外没有可剪枝的线性层或卷积层。",
        )
    if structured:
        for _, module in layers:
            tprune.ln_structured(module, "weight", amount=amount, n=2, dim=0)
    else:
        tprune.global_unstructured([(m, "weight") for _, m in layers], tprune.L1Unstructured, amount=amount)
    epochs = 0
    if train_dataset is not None and finetune_epochs > 0:
        from bentu.train import Trainer

        kw = {"lr": 5e-4, "patience": finetune_epochs, **(trainer_kwargs or {}), "epochs": finetune_epochs}
        Trainer(description="fine-tuning pruned model", **kw).fit(pruned, train_dataset, val_dataset)
        epochs = finetune_epochs
    for _, module in layers:
        tprune.remove(module, "weight")
    pruned.eval()
    info = {
        "method": "structured-l2" if structured else "magnitude-l1",
        "amount": float(amount),
        "sparsity": round(sparsity(pruned), 4),
        "finetune_epochs": epochs,
    }
    log.info("pruned %s: %s", type(model).__name__, info)
    return pruned, info
