"""TrainPool: models trained in one-thread worker processes are the models a one-thread process trains."""

import logging

import pytest
import torch
from torch.utils.data import TensorDataset

from bentu.errors import ConfigError
from bentu.train.parallel import FitJob, TrainPool, fit_job
from bentu.train.transfer import FineTuneTrainer


def _images(n=48, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 1, 28, 28, generator=g)
    y = (x[:, 0, 10:18, 10:18].mean(dim=(1, 2)) > 0).float()
    return TensorDataset(x, y)


def _job(name, seed, data, priority=0, **trainer):
    return FitJob(name=name, model="resnet_small", params={"width": 4, "blocks": [1, 1], "attention": [1]}, seed=seed,
                  train=data, val=data, trainer={"epochs": 2, "batch_size": 16, "channels_last": True, **trainer},
                  trainer_cls=FineTuneTrainer, priority=priority)


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_workers_train_bit_identical_models_and_leave_the_data_intact():
    data = _images()
    labels = data.tensors[1].numpy()  # a NumPy view: must still read the labels after the jobs are sent
    jobs = [_job(f"m{s}", s, data) for s in (0, 1, 2)]
    here = [fit_job(j) for j in jobs]
    with TrainPool(2) as pool:
        handles = [pool.submit(j) for j in jobs]
        there = [h.result() for h in handles]
    for a, b in zip(here, there):
        sa, sb = a.model.state_dict(), b.model.state_dict()
        assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
        assert (a.best_epoch, a.best_score, a.epochs_run) == (b.best_epoch, b.best_score, b.epochs_run)
        assert not b.model.training
    assert not torch.equal(here[0].model.stem[0].weight, here[1].model.stem[0].weight)  # seeds matter
    assert labels.tolist() == data.tensors[1].tolist() and set(labels.tolist()) == {0.0, 1.0}


def test_queued_jobs_start_by_priority(caplog):
    data = _images(n=32)
    with caplog.at_level(logging.INFO, logger="bentu.train.parallel"), TrainPool(1) as pool:
        first = pool.submit(_job("first", 0, data))  # starts at once: the worker is free
        low = pool.submit(_job("low", 1, data, priority=0))
        high = pool.submit(_job("high", 2, data, priority=5))
        for h in (low, first, high):
            h.result()
    done = [r.getMessage().split(":")[0] for r in caplog.records if r.name == "bentu.train.parallel"]
    assert done == ["first", "high", "low"]


def test_a_bad_job_raises_its_error_in_both_languages():
    with TrainPool(1) as pool:
        h = pool.submit(_job("bad", 0, _images(n=16), lr=-1.0))
        with pytest.raises(ConfigError) as err:
            h.result()
    assert str(err.value) == "The 'lr' parameter of Trainer must be a float in (0, inf). Got -1.0 instead."
    assert err.value.message("zh") == "Trainer 的参数 'lr' 必须是 a float in (0, inf)，实际为 -1.0。"


def test_processes_must_be_a_count():
    with pytest.raises(ConfigError, match=r"The 'processes' parameter of TrainPool must be an int >= 0. Got -1 instead."):
        TrainPool(-1)
