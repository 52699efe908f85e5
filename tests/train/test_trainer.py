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
