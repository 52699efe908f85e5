import numpy as np
import pytest
import torch
from torch.utils.data import TensorDataset

from bentu.errors import ConfigError
from bentu.models import create_model
from bentu.train import Trainer


def _data(n=600, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 6, generator=g)
    y = ((X[:, 0] - X[:, 1] + 0.3 * torch.randn(n, generator=g)) > 0).float()
    return TensorDataset(X[: n // 2], y[: n // 2]), TensorDataset(X[n // 2 :], y[n // 2 :])


@pytest.mark.parametrize("opt", ["adam", "sgd", "rmsprop"])
def test_every_optimizer_learns(opt):
    tr, va = _data()
    m = create_model("tabular_mlp", in_features=6, hidden=[16])
    t = Trainer(optimizer=opt, lr=0.01, epochs=8, batch_size=64, patience=8).fit(m, tr, va)
    assert t.best_score_ > 0.9


def test_same_seed_same_numbers():
    tr, va = _data()
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        m = create_model("tabular_mlp", in_features=6, hidden=[8])
        runs.append(Trainer(epochs=3, batch_size=64, seed=3).fit(m, tr, va).history_)
    assert runs[0] == runs[1]


def test_early_stopping_restores_best_and_writes_checkpoints(tmp_path):
    tr, va = _data()
    m = create_model("tabular_mlp", in_features=6, hidden=[16])
    t = Trainer(lr=0.05, epochs=40, batch_size=32, patience=2, checkpoint_dir=tmp_path).fit(m, tr, va)
    assert t.stopped_early_ and len(t.history_) < 40
    p, y = t.predict_proba(m, va)
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(y, p) == pytest.approx(t.best_score_, abs=1e-6)
    assert (tmp_path / "best.pt").exists() and (tmp_path / "last.pt").exists()
    assert torch.load(tmp_path / "best.pt")["epoch"] == t.best_epoch_


def test_masked_sequence_targets():
    class Seq(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(1, 1)

        def forward(self, x):  # (b, t) -> (b, t)
            return self.lin(x.unsqueeze(-1)).squeeze(-1)

    x = torch.randn(64, 5)
    y = (x > 0).float()
    mask = torch.ones(64, 5, dtype=torch.bool)
    mask[:, 3:] = False
    y[:, 3:] = 1 - y[:, 3:]  # wrong labels where masked out: must not matter
    ds = TensorDataset(x, y, mask)
    t = Trainer(lr=0.1, epochs=30, batch_size=16, patience=30).fit(Seq(), ds, ds)
    assert t.best_score_ > 0.99


def test_bad_parameter_message():
    with pytest.raises(ConfigError, match=r"^The 'lr' parameter of Trainer must be a float in \(0, inf\). Got -1 instead.$"):
        Trainer(lr=-1).fit(create_model("tabular_mlp", in_features=6), *_data())


def test_ema_returns_the_moving_average_of_the_weights():
    tr, _ = _data(n=400)
    torch.manual_seed(0)
    m = create_model("tabular_mlp", in_features=6, hidden=[8], dropout=0.0)
    raw = []  # the raw weights after each epoch (one full-batch step per epoch)
    t = Trainer(optimizer="sgd", lr=0.05, epochs=2, batch_size=200, patience=5, ema_decay=0.75,
                on_epoch_end=lambda rec: raw.append({k: v.clone() for k, v in m.state_dict().items()}))
    t.fit(m, tr)
    assert t.best_epoch_ == 2
    for k, v in m.state_dict().items():
        if v.is_floating_point():  # the average starts at the first step's weights, then 0.75 old + 0.25 new
            torch.testing.assert_close(v, 0.75 * raw[0][k] + 0.25 * raw[1][k])
    assert not torch.equal(m.state_dict()["body.0.weight"], raw[1]["body.0.weight"])


def test_ema_validates_and_checkpoints_the_average(tmp_path):
    tr, va = _data()
    torch.manual_seed(0)
    m = create_model("tabular_mlp", in_features=6, hidden=[16])
    t = Trainer(lr=0.01, epochs=6, batch_size=32, patience=6, ema_decay=0.9, checkpoint_dir=tmp_path).fit(m, tr, va)
    p, y = t.predict_proba(m, va)
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(y, p) == pytest.approx(t.best_score_, abs=1e-6)  # the kept weights are the scored ones
    last = torch.load(tmp_path / "last.pt")
    assert set(last) >= {"model", "ema", "optimizer"}


def test_mixup_is_seeded_and_changes_training():
    tr, va = _data()
    hist = {}
    for name, mix in (("a", 0.4), ("b", 0.4), ("off", 0.0)):
        torch.manual_seed(0)
        m = create_model("tabular_mlp", in_features=6, hidden=[8])
        hist[name] = Trainer(lr=0.01, epochs=4, batch_size=64, seed=3, mixup=mix).fit(m, tr, va).history_
    assert hist["a"] == hist["b"]
    assert hist["a"] != hist["off"]
    assert hist["a"][-1]["val_auc"] > 0.9


def test_mixup_on_masked_batches_is_refused():
    x = torch.randn(8, 5)
    ds = TensorDataset(x, (x > 0).float(), torch.ones(8, 5, dtype=torch.bool))

    class Seq(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(1, 1)

        def forward(self, x):
            return self.lin(x.unsqueeze(-1)).squeeze(-1)

    with pytest.raises(ConfigError, match=r"^mixup needs batches of one input tensor without a mask .* Set train.mixup to 0.$"):
        Trainer(epochs=1, batch_size=4, mixup=0.2).fit(Seq(), ds)
    with pytest.raises(ConfigError, match=r"^The 'ema_decay' parameter of Trainer must be None or a float in \(0, 1\). Got 1.5 instead.$"):
        Trainer(ema_decay=1.5).fit(Seq(), ds)


def _images(n=96, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, 28, 28, generator=g)
    y = (x[:, :, :14].mean((1, 2, 3)) > x[:, :, 14:].mean((1, 2, 3))).float()  # brighter top half
    return TensorDataset(x[: 2 * n // 3], y[: 2 * n // 3]), TensorDataset(x[2 * n // 3 :], y[2 * n // 3 :])


def test_channels_last_trains_in_that_layout_and_returns_the_default_one():
    tr, va = _images()
    hist, layouts = {}, {}
    for cl in (False, True):
        torch.manual_seed(0)
        m = create_model("resnet_small", in_channels=3, width=8, blocks=[1, 1], attention=True)
        seen = layouts[cl] = []
        m.stem.register_forward_pre_hook(lambda mod, args: seen.append(args[0].is_contiguous(memory_format=torch.channels_last)))
        t = Trainer(optimizer="adam", lr=0.01, epochs=3, batch_size=16, patience=3, ema_decay=0.9, channels_last=cl)
        hist[cl] = t.fit(m, tr, va).history_
        # the model handed back is in the default layout, like any other
        assert all(p.is_contiguous() for p in m.parameters()) and m.stem[0].weight.is_contiguous()
    assert set(layouts[True]) == {True} and set(layouts[False]) == {False}
    # the same training, up to float rounding
    for a, b in zip(hist[False], hist[True], strict=True):
        assert b["train_loss"] == pytest.approx(a["train_loss"], rel=1e-3)
        assert b["val_auc"] == pytest.approx(a["val_auc"], abs=0.02)


def test_channels_last_must_be_a_bool():
    with pytest.raises(ConfigError, match=r"^The 'channels_last' parameter of Trainer must be a bool. Got 'yes' instead.$"):
        Trainer(channels_last="yes").fit(create_model("tabular_mlp", in_features=6), *_data())
