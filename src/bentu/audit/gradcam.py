"""Grad-CAM explanations (Selvaraju et al., 2017) with Captum, and overlay images for a report.

For a binary-logit model, the map explains the *predicted* class: the logit for a positive
prediction, the negated logit for a negative one, so red regions are the evidence for what the
model said.
"""

from __future__ import annotations

import logging

import numpy as np
import torch
from torch import nn

__all__ = ["gradcam", "pick_cases"]  # the overlays are drawn by bentu.report.plots

log = logging.getLogger(__name__)


def _layer(model: nn.Module, layer: str | nn.Module | None) -> nn.Module:
    if isinstance(layer, nn.Module):
        return layer
    if layer is None:
        convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
        return convs[-1]
    return dict(model.named_modules())[layer]


def gradcam(model: nn.Module, x: torch.Tensor, *, layer: str | nn.Module | None = None,
            sign: torch.Tensor | None = None) -> np.ndarray:
    """Grad-CAM maps of ``x`` ``(n, c, h, w)`` for the predicted class, upsampled to ``(n, h, w)``
    and scaled to [0, 1] per image.

    ``layer`` must run once per forward pass: pass the model without test-time augmentation (a
    layer run on a mirrored view would give a mirrored map).

    Parameters
    ----------
    layer : str or Module, optional
        The layer whose activations are weighted (a name from ``model.named_modules()``);
        default: the last convolution.
    sign : Tensor, optional
        ``(n,)`` +1 to explain the positive class, −1 the negative one (e.g. the decision at an
        operating point); default: the model's own decision at logit 0.
    """
    from captum.attr import LayerAttribution, LayerGradCam

    model = model.eval()
    if sign is None:
        with torch.no_grad():
            sign = torch.where(model(x) >= 0, 1.0, -1.0)  # (n,)
    sign = sign.to(x.dtype)

    def forward(inp: torch.Tensor) -> torch.Tensor:
        return model(inp) * sign[: inp.shape[0]]

    cam = LayerGradCam(forward, _layer(model, layer)).attribute(x, relu_attributions=True)  # (n, 1, h', w')
    cam = LayerAttribution.interpolate(cam, tuple(x.shape[-2:]), interpolate_mode="bilinear")[:, 0]
    cam = cam.detach().numpy()
    peak = cam.reshape(len(cam), -1).max(axis=1).reshape(-1, 1, 1)
    return np.where(peak > 0, cam / np.where(peak > 0, peak, 1), 0.0)


def pick_cases(y: np.ndarray, pred: np.ndarray, n_per_kind: int = 4, seed: int = 0) -> dict[str, list[int]]:
    """Indices of up to ``n_per_kind`` test cases of each kind: TP, TN, FP, FN."""
    rng = np.random.default_rng(seed)
    kinds = {
        "TP": (y == 1) & (pred == 1), "TN": (y == 0) & (pred == 0),
        "FP": (y == 0) & (pred == 1), "FN": (y == 1) & (pred == 0),
    }
    out = {}
    for k, m in kinds.items():
        idx = np.flatnonzero(m)
        out[k] = sorted(rng.choice(idx, size=min(n_per_kind, len(idx)), replace=False).tolist()) if len(idx) else []
    return out
