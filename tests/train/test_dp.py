"""Record-level DP-SGD in the Trainer (train.dp, Opacus)."""

import math

import pytest
import torch
from opacus.accountants import RDPAccountant
from opacus.accountants.utils import get_noise_multiplier
from torch.utils.data import TensorDataset

from bentu.errors import BentuError, ConfigError
from bentu.models import create_model
from bentu.recipe import load_recipe
from bentu.train import Trainer
from bentu.train.dp import noise_for_epsilon, sample_rate, steps_per_epoch


def _data(n: int, seed: int) -> TensorDataset:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 6, generator=g)
    y = (x[:, 0] + 0.5 * x[:, 1] + 0.5 * torch.randn(n, generator=g) > 0).float()
    return TensorDataset(x, y)


def _mlp(norm: str = "layer") -> torch.nn.Module:
    torch.manual_seed(0)
    return create_model("tabular_mlp", in_features=6, hidden=[16], norm=norm)


DP = {"epsilon": 2.0, "delta": 1e-4, "max_grad_norm": 1.0}


def test_pooled_dp_run_reports_the_accountants_epsilon():
    train, val = _data(700, 1), _data(300, 2)
    model = _mlp()
    t = Trainer(epochs=4, batch_size=64, lr=1e-2, patience=10, dp=DP).fit(model, train, val)
    spent = t.dp_
    # Poisson sampling at rate 1 / ceil(700 / 64) = 1/11, 11 steps per epoch, 4 epochs.
    assert spent["sample_rate"] == pytest.approx(1 / 11)
    assert spent["steps"] == 44
    # The same epsilon from Opacus's accountant, computed independently for the same q, steps, noise.
    acc = RDPAccountant()
    for _ in range(44):
        acc.step(noise_multiplier=spent["noise_multiplier"], sample_rate=1 / 11)
    assert spent["epsilon"] == pytest.approx(acc.get_epsilon(delta=1e-4), rel=1e-9)
    assert spent["epsilon"] <= 2.0 and spent["epsilon"] > 1.9  # calibrated to the target (tolerance 0.01)
    # ... and the noise is the one Opacus's calibration picks for the target.
    assert spent["noise_multiplier"] == pytest.approx(
        get_noise_multiplier(target_epsilon=2.0, target_delta=1e-4, sample_rate=1 / 11, epochs=4, accountant="rdp"))
    assert t.history_[-1]["val_auc"] > 0.7  # it still learns
    # The model comes back plain: no Opacus hooks, no per-sample gradients, the original keys.
    assert all(not m._forward_hooks and not m._backward_hooks for m in model.modules())
    assert all(not hasattr(p, "grad_sample") for p in model.parameters())
    assert sorted(model.state_dict()) == sorted(_mlp().state_dict())


def test_dp_run_is_reproducible_and_noisy():
    train = _data(300, 3)
    w = []
    for dp in (DP, DP, {**DP, "epsilon": 0.5}):
        m = _mlp()
        Trainer(epochs=2, batch_size=32, dp=dp).fit(m, train, None)
        w.append(torch.cat([p.detach().flatten() for p in m.parameters()]))
    assert torch.equal(w[0], w[1])  # same seed, same model
    assert not torch.equal(w[0], w[2])


def test_a_larger_epsilon_never_gives_more_noise():
    q = sample_rate(7200, 512)
    noises = [noise_for_epsilon(eps, 1.4e-5, q, 20 * steps_per_epoch(7200, 512)) for eps in (0.25, 0.5, 1, 2, 4, 8, 16)]
    assert all(a >= b for a, b in zip(noises, noises[1:])), noises
    assert noises[0] > noises[-1]


def test_no_dp_is_unchanged_bit_for_bit():
    train, val = _data(200, 4), _data(100, 5)
    a, b = _mlp("batch"), _mlp("batch")
    Trainer(epochs=2, batch_size=32).fit(a, train, val)
    Trainer(epochs=2, batch_size=32, dp=None).fit(b, train, val)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_batch_norm_model_is_refused_naming_the_layers():
    with pytest.raises(ConfigError) as err:
        Trainer(epochs=1, dp=DP).fit(create_model("tabular_mlp", in_features=6, hidden=[16, 8]), _data(50, 1), None)
    assert str(err.value) == (
        "DP-SGD (train.dp) cannot train this model: Opacus refuses its layers body.1 (BatchNorm1d), body.5 "
        "(BatchNorm1d). Batch norm mixes the records of a batch, so per-record gradients do not exist. Use a model "
        "without them (for tabular_mlp: model.params.norm: layer) or remove train.dp.")
    assert "body.1 (BatchNorm1d)" in err.value.zh


@pytest.mark.parametrize("dp, message", [
    ({**DP, "epsilon": 0.0}, "The 'epsilon' parameter of train.dp must be a finite float in (0, inf). Got 0.0 instead."),
    ({**DP, "epsilon": math.inf}, "The 'epsilon' parameter of train.dp must be a finite float in (0, inf). Got inf instead."),
    ({**DP, "delta": 1.0}, "The 'delta' parameter of train.dp must be a float in (0, 1). Got 1.0 instead."),
    ({**DP, "max_grad_norm": 0}, "The 'max_grad_norm' parameter of train.dp must be a finite float in (0, inf). Got 0 instead."),
])
def test_bad_dp_parameters(dp, message):
    with pytest.raises(ConfigError, match="^" + __import__("re").escape(message) + "$"):
        Trainer(epochs=1, dp=dp).fit(_mlp(), _data(50, 1), None)


@pytest.mark.parametrize("kw, name", [({"mixup": 0.2}, "mixup"), ({"grad_clip": 1.0}, "grad_clip"),
                                      ({"extra_loss": lambda m: 0.0}, "extra_loss (e.g. FedProx's proximal term)")])
def test_combinations_that_break_the_guarantee_are_refused(kw, name):
    with pytest.raises(ConfigError, match=f"^train.dp cannot be combined with {__import__('re').escape(name)}: "):
        Trainer(epochs=1, dp=DP, **kw).fit(_mlp(), _data(50, 1), None)


def test_ema_and_early_stopping_are_allowed():
    t = Trainer(epochs=3, batch_size=32, patience=1, ema_decay=0.9, dp=DP).fit(_mlp(), _data(200, 6), _data(100, 7))
    assert t.dp_["steps"] == len(t.history_) * 7  # early stopping spends only the steps taken
    assert t.dp_["epsilon"] <= 2.0


@pytest.mark.parametrize("override, message", [
    ("train.dp.epsilon=0", "'train.dp.epsilon': The 'epsilon' parameter of train.dp must be a finite float in (0, inf) (got 0)."),
    ("train.dp.epsilon=-1", "'train.dp.epsilon': The 'epsilon' parameter of train.dp must be a finite float in (0, inf) (got -1)."),
    ("train.dp.delta=1", "'train.dp.delta': The 'delta' parameter of train.dp must be a float in (0, 1) (got 1)."),
])
def test_recipe_validation(override, message):
    extra = [] if "epsilon" in override else ["train.dp.epsilon=2"]
    with pytest.raises(BentuError) as err:
        load_recipe("credit-uci", extra + [override])
    assert str(err.value).endswith("credit-uci.yaml is invalid: " + message)
    assert "必须是" in err.value.zh
    r = load_recipe("credit-uci", ["train.dp.epsilon=2"])
    assert (r.train.dp.epsilon, r.train.dp.delta, r.train.dp.max_grad_norm, r.train.dp.accountant) == (2.0, None, 1.0, "rdp")
