"""Transfer learning helpers: weight files, freezing, the fine-tuning trainer, augmentation."""

from __future__ import annotations

import pytest
import torch

from bentu.datasets.images import ImageDataset
from bentu.errors import ConfigError, DataError
from bentu.models import create_model
from bentu.train.augment import Augment
from bentu.train.transfer import FineTuneTrainer, freeze, load_weights, save_weights, select_layers


@pytest.mark.parametrize("suffix", [".safetensors", ".pt"])
def test_weights_round_trip(tmp_path, suffix):
    a, b = create_model("resnet_small", width=4), create_model("resnet_small", width=4)
    path = save_weights(a, tmp_path / f"w{suffix}")
    info = load_weights(b, path)
    assert info["loaded"] == len(a.state_dict()) and not info["missing"]
    assert all(torch.equal(a.state_dict()[k], b.state_dict()[k]) for k in a.state_dict())


def test_wrapped_checkpoint_and_shape_mismatch(tmp_path):
    src = create_model("resnet_small", width=4, in_channels=3)
    torch.save({"model": src.state_dict(), "epoch": 3}, tmp_path / "ckpt.pt")
    dst = create_model("resnet_small", width=4, in_channels=1)
    info = load_weights(dst, tmp_path / "ckpt.pt")
    assert info["skipped_shape"] == ["stem.0.weight"]  # the RGB stem cannot load into a grey stem


def test_weights_errors(tmp_path):
    m = create_model("resnet_small", width=4)
    with pytest.raises(DataError, match=r"Pretrained weights not found: .*nope\.safetensors"):
        load_weights(m, tmp_path / "nope.safetensors")
    (tmp_path / "bad.safetensors").write_bytes(b"garbage")
    with pytest.raises(DataError, match=r"bad\.safetensors: cannot read the weights"):
        load_weights(m, tmp_path / "bad.safetensors")
    torch.save({"x": torch.zeros(3)}, tmp_path / "other.pt")
    with pytest.raises(DataError, match=r"none of its 1 tensors matches"):
        load_weights(m, tmp_path / "other.pt")


def test_freeze_prefixes():
    m = create_model("resnet_small", width=4)
    frozen = freeze(m, ["stem", "stages.0"])
    assert "stem.0.weight" in frozen and "stages.0.conv1.weight" in frozen
    assert m.head[2].weight.requires_grad and not m.stem[0].weight.requires_grad
    with pytest.raises(ConfigError) as e:
        freeze(m, ["backbone"])
    assert str(e.value) == (
        "transfer.freeze: no parameter name starts with 'backbone'. Top-level modules of the model: head, stages, "
        "stem (deeper names like 'stages.0' work too)."
    )


def test_select_layers_keeps_only_named_prefixes():
    state = create_model("resnet_small", width=4, blocks=[1, 1]).state_dict()
    kept = select_layers(state, ["stem", "stages.0"])
    assert kept and all(k.startswith(("stem.", "stages.0.")) for k in kept)
    assert "stages.0.conv1.weight" in kept and not any(k.startswith(("stages.1.", "head.")) for k in kept)
    assert select_layers(state, ["stages.1."]).keys() == {k for k in state if k.startswith("stages.1.")}
    with pytest.raises(ConfigError) as e:
        select_layers(state, ["stage.0"])
    assert str(e.value) == (
        "transfer.layers: no pretrained tensor name starts with 'stage.0'. Top-level names in the weights: head, "
        "stages, stem (deeper names like 'stages.0' work too)."
    )


def _toy(n=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    x = torch.rand(n, 28, 28, 1, generator=g) * 60
    x[y == 1, 8:20, 8:20] += 150  # a bright square marks the positive class
    return ImageDataset((x.clamp(0, 255)).to(torch.uint8).numpy(), y.numpy(), augment=Augment(rotate=5))


def test_finetune_trainer_learns_and_keeps_frozen_weights():
    m = create_model("resnet_small", width=4, blocks=[1, 1])
    freeze(m, ["stem"])
    before = {k: v.clone() for k, v in m.state_dict().items() if k.startswith("stem")}
    tr = FineTuneTrainer(lr=5e-3, epochs=4, batch_size=8, patience=4, seed=0).fit(m, _toy(), _toy(16, 1))
    assert tr.best_score_ > 0.8
    after = m.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # weights and BN running stats unchanged


def test_finetune_same_seed_same_result():
    res = []
    for _ in range(2):
        torch.manual_seed(0)
        m = create_model("resnet_small", width=4, blocks=[1])
        res.append(FineTuneTrainer(epochs=1, batch_size=8, seed=3).fit(m, _toy(), _toy(16, 1)).history_)
    assert res[0] == res[1]


def test_cosine_schedule():
    tr = FineTuneTrainer(lr=1.0, epochs=10, warmup_epochs=1, min_lr_ratio=0.0)
    assert tr._lr_at(0, 10) == pytest.approx(0.1)
    assert tr._lr_at(10, 10) == pytest.approx(1.0)
    assert tr._lr_at(99, 10) < 0.01


def test_augment_keeps_shape_and_is_seeded():
    x = torch.randn(1, 28, 28)
    a = Augment(vflip=0.5, rotate=15, shift=0.1, scale=0.1, brightness=0.2, contrast=0.2)
    torch.manual_seed(1)
    y1 = a(x)
    torch.manual_seed(1)
    assert torch.equal(y1, a(x)) and y1.shape == x.shape
    with pytest.raises(ConfigError, match=r"The 'hflip' parameter of Augment must be a probability in \[0, 1\]\. Got 2"):
        Augment(hflip=2)
