"""Grad-CAM maps and overlays."""

from __future__ import annotations

import numpy as np
import torch

from bentu.audit.gradcam import gradcam, pick_cases
from bentu.report.plots import save_gradcam_overlays
from bentu.models import create_model


def test_maps_shape_range_and_overlays(tmp_path):
    m = create_model("resnet_small", width=4).eval()
    x = torch.randn(3, 1, 28, 28)
    cams = gradcam(m, x, layer="stages")
    assert cams.shape == (3, 28, 28)
    assert cams.min() >= 0 and cams.max() <= 1
    paths = save_gradcam_overlays(np.zeros((3, 28, 28, 1), np.uint8), cams, ["a", "b", "c"], tmp_path)
    assert [p.name for p in paths] == ["case_00.png", "case_01.png", "case_02.png"]
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_pick_cases():
    y = np.array([1, 1, 0, 0, 1, 0])
    pred = np.array([1, 0, 0, 1, 1, 0])
    assert pick_cases(y, pred, 5) == {"TP": [0, 4], "TN": [2, 5], "FP": [3], "FN": [1]}


def test_deployed_model_is_explained_without_test_time_views():
    """A map taken through the mirrored view of flip TTA came out mirrored: the deployed model's map
    must be the un-augmented model's map, on the image as the doctor sees it."""
    from bentu.models.vision import TTA, LogitEnsemble
    from bentu.pipeline.imaging import cam_target

    torch.manual_seed(1)
    members = [create_model("resnet_small", width=8).eval() for _ in range(2)]
    ens = LogitEnsemble(members)
    base, layer = cam_target(TTA(ens, shift=1))
    assert base is ens and layer is members[0].stages
    x = torch.randn(4, 1, 28, 28)
    sign = torch.tensor([1.0, -1.0, 1.0, -1.0])
    cams = gradcam(base, x, layer=layer, sign=sign)
    mirrored = gradcam(base, x.flip(-1), layer=layer, sign=sign)[:, :, ::-1]
    assert cams.max() > 0 and not np.allclose(cams, mirrored, atol=1e-3)
    # the sign picks the class explained: the other class gives another map
    assert not np.allclose(cams, gradcam(base, x, layer=layer, sign=-sign), atol=1e-3)
