"""One set of jobs, three executors (inline, processes, ray): the same models; bounded waits;
clear errors; no worker or Ray process left behind."""

import time

import psutil
import pytest
import torch
from torch.utils.data import TensorDataset

from bentu.errors import ConfigError
from bentu.train import Trainer
from bentu.train.device import resolve_device
from bentu.train.parallel import FitJob, TrainPool

RAY_PROCESSES = ("raylet", "gcs_server", "ray::", "default_worker")


def _data(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 6, generator=g)
    return TensorDataset(x, (x[:, 0] + 0.5 * x[:, 1] > 0).float())


def _job(name, seed, data, epochs=3):
    return FitJob(name=name, model="tabular_mlp", params={"in_features": 6, "hidden": [8]}, seed=seed, train=data,
                  val=data, trainer={"epochs": epochs, "batch_size": 16}, trainer_cls=Trainer)


def _states(executor, jobs, **kw):
    with TrainPool(2, executor=executor, **kw) as pool:
        handles = [pool.submit(j) for j in jobs]
        return [h.result().model.state_dict() for h in handles]


def _live_children():
    out = []
    for p in psutil.Process().children(recursive=True):
        try:
            if p.status() != psutil.STATUS_ZOMBIE:
                p.cmdline()
                out.append(p)
        except psutil.Error:
            continue
    return out


def _ray_children():
    found = []
    for p in psutil.Process().children(recursive=True):
        try:  # zombies (reaped later) and processes that just ended are not running Ray
            if p.status() != psutil.STATUS_ZOMBIE and any(k in " ".join(p.cmdline() or [p.name()]) for k in RAY_PROCESSES):
                found.append(p)
        except psutil.Error:
            continue
    return found


@pytest.mark.slow
def test_three_executors_give_identical_models_and_ray_leaves_nothing_behind():
    data = _data()
    jobs = [_job(f"m{s}", s, data) for s in (0, 1)]
    threads = torch.get_num_threads()
    runs = {e: _states(e, jobs, start_timeout=180) for e in ("inline", "processes", "ray")}
    assert torch.get_num_threads() == threads  # inline restores the caller's thread count
    for e in ("processes", "ray"):
        for a, b in zip(runs["inline"], runs[e]):
            assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), e
    assert not torch.equal(runs["inline"][0]["body.0.weight"], runs["inline"][1]["body.0.weight"])
    deadline = time.monotonic() + 30
    while _ray_children() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _ray_children() == []


@pytest.mark.parametrize("executor", ["inline", "processes"])
def test_a_job_past_its_timeout_stops_with_a_clear_error(executor):
    slow = _job("slow", 0, _data(n=4096), epochs=500)
    with pytest.raises(ConfigError) as err:
        with TrainPool(1, executor=executor, job_timeout=1.5) as pool:
            pool.submit(slow).result()
    assert str(err.value) == ("Training job 'slow' ran past its timeout of 1.5 s (train.job_timeout) and was "
                              "stopped, with the other running jobs. Raise train.job_timeout, or lower train.epochs.")
    time.sleep(0.5)
    assert [p for p in _live_children() if "spawn_main" in " ".join(p.cmdline())] == []  # workers, not the resource tracker


def test_an_unreachable_ray_address_fails_fast_naming_it(monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    start = time.monotonic()
    with pytest.raises(ConfigError) as err:
        with TrainPool(1, executor="ray", ray_address="127.0.0.1:9"):
            pass
    assert time.monotonic() - start < 10
    assert str(err.value).startswith("No Ray cluster answers at '127.0.0.1:9' (train.ray_address or RAY_ADDRESS): ")
    assert _ray_children() == []


def test_unknown_executor_and_bad_timeout():
    with pytest.raises(ConfigError, match=r"^The 'executor' parameter must be one of inline, processes, ray\. "
                                          r"Got 'dask' instead\.$"):
        TrainPool(1, executor="dask")
    with pytest.raises(ConfigError, match=r"^The 'job_timeout' parameter must be a number of seconds > 0 or None\. "
                                          r"Got -1 instead\.$"):
        TrainPool(1, job_timeout=-1)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_where_there_is_none_is_a_clear_error():
    assert resolve_device("auto") == torch.device("cpu")
    with pytest.raises(ConfigError) as err:
        resolve_device("cuda:1")
    assert str(err.value).startswith("train.device is 'cuda:1' but torch sees no CUDA device (torch ")
    assert str(err.value).endswith("Use train.device: auto (CUDA when present, else CPU) or cpu.")
    with pytest.raises(ConfigError, match=r"^The 'device' parameter must be 'auto', 'cpu', 'cuda' or 'cuda:N'\. "
                                          r"Got 'gpu' instead\.$"):
        resolve_device("gpu")


def test_device_cpu_is_bit_identical_to_no_device():
    data = _data()
    a, b = (_job("a", 0, data), _job("b", 0, data))
    b.trainer = {**b.trainer, "device": "cpu"}
    with TrainPool(0) as pool:
        sa, sb = (pool.submit(j).result().model.state_dict() for j in (a, b))
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
