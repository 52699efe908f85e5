"""Export a trained PyTorch model to ONNX and check that ONNX Runtime gives the same output."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

__all__ = ["export_onnx", "check_parity", "PARITY_TOLERANCE"]

log = logging.getLogger(__name__)
PARITY_TOLERANCE = 1e-4


def export_onnx(
    model: nn.Module,
    example: tuple[torch.Tensor, ...],
    path: str | Path,
    *,
    input_names: tuple[str, ...] = ("input",),
    output_name: str = "logit",
    dynamic_batch: bool = True,
    dynamic_dims: dict[str, dict[int, str]] | None = None,
    opset: int = 17,
    check: bool = True,
) -> dict:
    """Export ``model`` (in eval mode) to ``path`` and return the parity check's result.

    Parameters
    ----------
    example : tuple of Tensor
        Example inputs; the batch dimension (0) is exported as dynamic.
    dynamic_dims : dict, optional
        Extra dynamic dimensions per input name, e.g. ``{"skills": {1: "time"}}``.

    Returns
    -------
    dict
        ``{"max_abs_diff": float, "tolerance": 1e-4, "passed": bool, "opset": int}``
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = model.eval()
    axes: dict[str, dict[int, str]] = {}
    for name in input_names:
        axes[name] = {0: "batch"} if dynamic_batch else {}
        axes[name].update((dynamic_dims or {}).get(name, {}))
    axes[output_name] = {0: "batch"} if dynamic_batch else {}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model, example, str(path), input_names=list(input_names), output_names=[output_name],
            dynamic_axes=axes, opset_version=opset, dynamo=False,
        )
    result = check_parity(model, example, path, input_names=input_names) if check else {}
    return {**result, "opset": opset}


def check_parity(
    model: nn.Module, example: tuple[torch.Tensor, ...], path: str | Path, *, input_names: tuple[str, ...] = ("input",)
) -> dict:
    """Compare PyTorch and ONNX Runtime outputs on ``example``; max abs diff must be ≤ 1e-4."""
    import onnxruntime as ort

    with torch.no_grad():
        expected = model.eval()(*example).numpy()
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = {n: t.numpy() for n, t in zip(input_names, example)}
    got = sess.run(None, feeds)[0]
    diff = float(np.max(np.abs(expected - got))) if expected.size else 0.0
    return {"max_abs_diff": diff, "tolerance": PARITY_TOLERANCE, "passed": diff <= PARITY_TOLERANCE}
