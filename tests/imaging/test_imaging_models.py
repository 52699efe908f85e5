"""The vision model family: shapes, CBAM, ONNX parity, config errors."""

from __future__ import annotations

import pytest
import torch

from bentu.errors import ConfigError
from bentu.inference.export import export_onnx
from bentu.models import create_model, example_inputs, list_models
from bentu.models.vision import TTA, LogitEnsemble


def test_registered_as_vision():
    assert "resnet_small" in list_models(family="vision")


@pytest.mark.parametrize("size,channels,attention", [(28, 1, False), (28, 3, True), (64, 1, True), (64, 3, False)])
def test_one_logit_per_image(size, channels, attention):
    cfg = dict(in_channels=channels, image_size=size, width=8, attention=attention)
    m = create_model("resnet_small", **cfg).eval()
    (x,) = example_inputs("resnet_small", batch_size=3, **cfg)
    assert x.shape == (3, channels, size, size)
    assert m(x).shape == (3,)


@pytest.mark.parametrize("attention", [False, True, [1, 2]])
def test_onnx_parity(tmp_path, attention):
    cfg = dict(width=8, attention=attention)
    m = create_model("resnet_small", **cfg)
    res = export_onnx(m, example_inputs("resnet_small", **cfg), tmp_path / "m.onnx", input_names=("image",))
    assert res["passed"] and res["max_abs_diff"] <= 1e-4


def test_attention_in_listed_stages_only():
    from bentu.models.vision import CBAM

    def attended(attention):
        m = create_model("resnet_small", width=8, blocks=[2, 1, 2], attention=attention)
        return [isinstance(b.attn, CBAM) for b in m.stages]

    assert attended(True) == [True] * 5 and attended(False) == [False] * 5 and attended([]) == [False] * 5
    assert attended([1, 2]) == [False, False, True, True, True]  # stage 0 has blocks 0-1, stage 1 block 2
    assert attended([0]) == [True, True, False, False, False]
    for bad in ([3], [-1], "yes", [True], [1.0], 1):
        with pytest.raises(ConfigError) as e:
            create_model("resnet_small", blocks=[2, 1, 2], attention=bad)
        assert str(e.value) == ("The 'attention' parameter of resnet_small must be a bool or a list of stage indices "
                                f"in [0, 2]. Got {bad!r} instead.")


def test_cbam_is_channel_then_spatial_attention():
    from bentu.models.vision import CBAM

    torch.manual_seed(0)
    m, x = CBAM(16), torch.randn(3, 16, 7, 7)
    # Woo et al. (2018): sigmoid(MLP(avgpool) + MLP(maxpool)) per channel, then a 7x7 convolution
    # over the channel-wise mean and max maps
    xc = x * torch.sigmoid(m.mlp(x.mean(dim=(2, 3), keepdim=True)) + m.mlp(x.amax(dim=(2, 3), keepdim=True)))
    s = m.spatial(torch.cat([xc.mean(1, keepdim=True), xc.amax(1, keepdim=True)], dim=1))
    assert torch.allclose(m(x), xc * torch.sigmoid(s), atol=1e-6)


def test_tta_ensemble_exports(tmp_path):
    members = [create_model("resnet_small", width=4) for _ in range(2)]
    m = TTA(LogitEnsemble(members)).eval()
    x = torch.randn(2, 1, 28, 28)
    expected = 0.5 * (sum(k.eval()(x) for k in members) / 2 + sum(k(x.flip(-1)) for k in members) / 2)
    assert torch.allclose(m(x), expected, atol=1e-6)
    assert export_onnx(m, (x,), tmp_path / "e.onnx", input_names=("image",))["passed"]


def test_bad_config_names_parameter():
    with pytest.raises(ConfigError) as e:
        create_model("resnet_small", in_channels=2)
    assert str(e.value) == "The 'in_channels' parameter of resnet_small must be 1 or 3. Got 2 instead."
    with pytest.raises(ConfigError, match="got unknown parameter"):
        create_model("resnet_small", widht=8)


def test_shift_tta_averages_eighteen_views_and_exports(tmp_path):
    import torch.nn.functional as F

    m = create_model("resnet_small", width=4).eval()
    x = torch.randn(3, 1, 28, 28)
    padded = F.pad(x, (1, 1, 1, 1), mode="replicate")
    views = [padded[..., 1 + dy:29 + dy, 1 + dx:29 + dx] for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    with torch.no_grad():
        expected = torch.stack([m(v) for v in views] + [m(v.flip(-1)) for v in views]).mean(0)
        got = TTA(m, shift=1)(x)
    assert torch.allclose(got, expected, atol=1e-6)
    assert len(TTA(m, shift=1).offsets) == 9 and len(TTA(m).offsets) == 1
    assert (TTA(m, shift=1).views, TTA(m).views, TTA(m, flip=False, shift=2).views) == (18, 2, 9)
    res = export_onnx(TTA(m, shift=1).eval(), (x,), tmp_path / "s.onnx", input_names=("image",))
    assert res["passed"] and res["max_abs_diff"] <= 1e-4
    # the views go through the model as one batch: the graph holds each convolution once, not 18 times
    import onnx

    convs = sum(n.op_type == "Conv" for n in onnx.load(tmp_path / "s.onnx").graph.node)
    assert convs == sum(isinstance(mod, torch.nn.Conv2d) for mod in m.modules())
    with pytest.raises(ConfigError, match=r"^The 'shift' parameter of TTA must be an int in \[0, 4\]. Got 5 instead.$"):
        TTA(m, shift=5)
