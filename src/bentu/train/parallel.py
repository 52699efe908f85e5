"""Train independent models side by side in worker processes, one torch thread each.

On CPU a kernel's float sums depend on how many threads split the work, so the same seed trains
another model on a machine with another thread count. :class:`TrainPool` with ``processes=N``
trains every :class:`FitJob` in one of N spawned worker processes on **one** torch thread: the
same jobs give bit-identical models whatever the machine's core count, the number of workers or
the order of the jobs (for one CPU instruction set and torch build: those choose the kernels).
For small CNNs it is also faster: on 2 cores two one-thread trainings of the BreastMNIST model
do 1.22× the steps per second of one two-thread training (``bench/trainer_speed.py``).
``processes=0`` trains in this process, one job after the other (the behaviour without a pool).

Three executors (``train.executor``): ``inline`` (this process; each job on one torch thread,
so it gives the same models as the others), ``processes`` (N spawned one-thread workers on this
machine) and ``ray`` (the same jobs as Ray tasks on a Ray cluster — ``ray_address`` or
``RAY_ADDRESS``, a local cluster otherwise — with ``cpus_per_job`` / ``gpus_per_job`` and at most
N jobs at a time). Every executor bounds a job's time with ``job_timeout`` (seconds): a job over
it is stopped, its workers with it, and the pool raises :class:`~bentu.errors.ConfigError`. A
local Ray cluster the pool started is shut down when the pool closes, so no Ray process is left.

A job builds its model from the registry, seeded, optionally starts from pretrained weights (with
frozen layers), and trains it with a :class:`~bentu.train.Trainer` (or a subclass). Jobs wait in
a queue and start highest ``priority`` first, then in the order they were submitted; the pool
starts queued jobs whenever the caller submits one or waits for a result.
"""

from __future__ import annotations

import concurrent.futures
import functools
import logging
import multiprocessing
import os
import pickle
import socket
import time
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.utils.data import Dataset

from bentu.errors import ConfigError

__all__ = ["FitJob", "Fitted", "TrainPool", "fit_job", "start_ray", "EXECUTORS"]

EXECUTORS = ("inline", "processes", "ray")

log = logging.getLogger(__name__)


@dataclass
class FitJob:
    """One model to train: everything a worker process needs, picklable.

    Parameters
    ----------
    name : str
        Shown in logs and progress, e.g. ``"transfer seed 1000"``.
    model, params : str, dict
        Registry name and parameters (:func:`bentu.models.create_model`).
    seed : int
        Seeds the weight initialisation and the trainer.
    train, val : Dataset
    trainer : dict
        Keyword arguments of ``trainer_cls`` other than ``seed`` (no callbacks: a worker logs
        each epoch itself).
    trainer_cls : type
        :class:`~bentu.train.Trainer` or a subclass.
    init : dict, optional
        A state dict loaded before training (:func:`bentu.train.transfer.load_weights`).
    freeze : list of str
        Parameter-name prefixes to freeze after loading ``init``.
    priority : int
        Queued jobs with a higher priority start first.
    """

    name: str
    model: str
    params: dict
    seed: int
    train: Dataset
    val: Dataset | None
    trainer: dict
    trainer_cls: type
    init: dict | None = None
    freeze: list[str] = field(default_factory=list)
    priority: int = 0


@dataclass
class Fitted:
    """A trained model (in eval mode) and what its training reported."""

    name: str
    model: nn.Module
    best_epoch: int
    best_score: float
    epochs_run: int
    seconds: float


def _log_epoch(name: str, record: dict) -> None:
    log.info("%s epoch %d: train_loss %.4f val_auc %.4f", name, record["epoch"], record["train_loss"],
             record.get("val_auc", float("nan")))


def _build(job: FitJob) -> nn.Module:
    from bentu.models import create_model

    torch.manual_seed(job.seed)
    return create_model(job.model, **job.params)


def fit_job(job: FitJob, *, progress: bool = False) -> Fitted:
    """Train ``job`` in this process (at its current thread count) and return the model."""
    from bentu.train.transfer import freeze, load_weights

    start = time.perf_counter()
    model = _build(job)
    if job.init is not None:
        load_weights(model, job.init)
        if job.freeze:
            freeze(model, job.freeze)
    kwargs = {"description": job.name, **job.trainer, "progress": progress,
              "on_epoch_end": job.trainer.get("on_epoch_end") or functools.partial(_log_epoch, job.name)}
    tr = job.trainer_cls(seed=job.seed, **kwargs)
    tr.fit(model, job.train, job.val)
    for p in model.parameters():
        p.requires_grad_(True)
    return Fitted(job.name, model.eval(), tr.best_epoch_, tr.best_score_, len(tr.history_),
                  time.perf_counter() - start)


def _init_worker(level: int) -> None:
    torch.set_num_threads(1)
    logging.basicConfig(level=level, format=f"%(asctime)s [worker {multiprocessing.current_process().pid}] %(message)s")


def _fit_in_worker(blob: bytes) -> bytes:
    torch.set_num_threads(1)  # also in Ray workers, which have no initializer
    fitted = fit_job(pickle.loads(blob))
    return pickle.dumps({"state": fitted.model.state_dict(), "best_epoch": fitted.best_epoch,
                         "best_score": fitted.best_score, "epochs_run": fitted.epochs_run, "seconds": fitted.seconds})


class Handle:
    """The pending result of a submitted job; :meth:`result` waits for it."""

    def __init__(self, pool: TrainPool, job: FitJob):
        self._pool, self.job = pool, job
        self.future: concurrent.futures.Future | None = None
        self._out: dict | None = None  # what the worker sent back
        self._fitted: Fitted | None = None

    def result(self) -> Fitted:
        if self._fitted is None:
            self._pool._wait_for(self)
            if self._out is None:
                try:
                    self.future.result()  # re-raises the worker's exception
                except BrokenProcessPool as err:
                    raise RuntimeError(
                        f"A training worker process stopped while training {self.job.name!r} (out of memory?). "
                        "Set train.processes: 0 to train in this process instead.") from err
                except Exception as err:  # a Ray task error: the worker's own exception is its cause
                    cause = getattr(err, "cause", None)
                    if isinstance(cause, Exception) and cause is not err:
                        raise cause from None
                    raise
            model = _build(self.job)
            model.load_state_dict({k: v.cpu() for k, v in self._out["state"].items()})
            self._fitted = Fitted(self.job.name, model.eval(), self._out["best_epoch"], self._out["best_score"],
                                  self._out["epochs_run"], self._out["seconds"])
            self.job = self._out = None  # drop the job's data and initial weights
        return self._fitted


class TrainPool:
    """Train :class:`FitJob` s here (``processes=0``) or in ``processes`` one-thread workers.

    Use as a context manager; leaving it stops the workers (after their current job when an
    error is being raised). ``progress`` shows one Rich bar over the jobs (workers show none).
    """

    def __init__(self, processes: int = 0, *, progress: bool = False, description: str = "training models",
                 executor: str | None = None, ray_address: str | None = None, job_timeout: float | None = None,
                 cpus_per_job: float = 1.0, gpus_per_job: float = 0.0, start_timeout: float = 120.0):
        if not isinstance(processes, int) or isinstance(processes, bool) or processes < 0:
            raise ConfigError(
                f"The 'processes' parameter of TrainPool must be an int >= 0. Got {processes!r} instead.",
                f"TrainPool 的参数 'processes' 必须是大于等于 0 的整数，实际为 {processes!r}。",
            )
        executor = executor or ("processes" if processes else "inline")
        if executor not in EXECUTORS:
            raise ConfigError(
                f"The 'executor' parameter must be one of {', '.join(EXECUTORS)}. Got {executor!r} instead.",
                f"参数 'executor' 必须是 {', '.join(EXECUTORS)} 之一，实际为 {executor!r}。",
            )
        if job_timeout is not None and not (isinstance(job_timeout, (int, float)) and job_timeout > 0):
            raise ConfigError(
                f"The 'job_timeout' parameter must be a number of seconds > 0 or None. Got {job_timeout!r} instead.",
                f"参数 'job_timeout' 必须是大于 0 的秒数或 None，实际为 {job_timeout!r}。",
            )
        self.executor, self.ray_address, self.job_timeout = executor, ray_address, job_timeout
        self.cpus_per_job, self.gpus_per_job, self.start_timeout = cpus_per_job, gpus_per_job, start_timeout
        # "processes" is the number of jobs at a time; inline runs them one by one.
        self.processes = 0 if executor == "inline" else max(processes, 1)
        self.progress, self.description = progress, description
        self._queue: list[Handle] = []
        self._running: list[Handle] = []
        self._started: dict[int, float] = {}
        self._executor: concurrent.futures.ProcessPoolExecutor | None = None
        self._ray = self._remote = None
        self._own_ray = False
        self._bar = self._task = None
        self._submitted = self._finished = 0

    def __enter__(self) -> TrainPool:
        if self.executor == "processes":
            self._executor = concurrent.futures.ProcessPoolExecutor(
                self.processes, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker,
                initargs=(logging.getLogger("bentu").getEffectiveLevel(),))
        elif self.executor == "ray":
            self._start_ray()
        if self.progress and self.processes:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=Console(stderr=True), transient=True)
            self._bar.__enter__()
            where = "Ray tasks" if self.executor == "ray" else "processes"
            self._task = self._bar.add_task(f"{self.description} ({self.processes} {where})", total=0)
        return self

    def __exit__(self, exc_type, *rest) -> None:
        if self._bar is not None:
            self._bar.__exit__(exc_type, *rest)
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=exc_type is not None)
            self._executor = None
        if self._ray is not None:
            for h in self._running:
                self._ray.cancel(h.ref, force=True)
            if self._own_ray:
                self._ray.shutdown()
            self._ray = self._remote = None

    def _start_ray(self) -> None:
        num_cpus = max(int(self.processes * self.cpus_per_job), 1)
        self._ray, self._own_ray = start_ray(self.ray_address, num_cpus=num_cpus,
                                             num_gpus=int(self.gpus_per_job * self.processes),
                                             start_timeout=self.start_timeout)
        self._remote = self._ray.remote(num_cpus=self.cpus_per_job, num_gpus=self.gpus_per_job,
                                        max_retries=0)(_fit_in_worker)

    def submit(self, job: FitJob) -> Handle:
        """Queue ``job`` (with ``processes=0``: train it now) and return its handle."""
        handle = Handle(self, job)
        if not self.processes:
            handle._fitted = self._fit_inline(job)
            handle.job = None
            return handle
        if self._executor is None and self._ray is None:
            raise RuntimeError("TrainPool.submit needs the pool open: use it in a `with` block")
        self._queue.append(handle)
        self._submitted += 1
        if self._bar is not None:
            self._bar.update(self._task, total=self._submitted)
        self._start_queued()
        return handle

    def _start_queued(self) -> None:
        for h in [h for h in self._running if h.future.done()]:
            self._running.remove(h)
            self._finished += 1
            if self._bar is not None:
                self._bar.update(self._task, completed=self._finished)
            if h.future.exception() is None:
                h._out = out = pickle.loads(h.future.result())
                log.info("%s: best epoch %d (validation %.4f), %d epochs, %.0f s", h.job.name, out["best_epoch"],
                         out["best_score"], out["epochs_run"], out["seconds"])
        while self._queue and len(self._running) < self.processes:
            h = max(self._queue, key=lambda h: h.job.priority)  # the first of the highest priority
            self._queue.remove(h)
            # Plain pickle, not multiprocessing's: torch's reducers would move the job's tensors
            # into shared memory, leaving NumPy views of them (``dataset.y.numpy()``) dangling.
            blob = pickle.dumps(h.job)
            if self._ray is not None:
                h.ref = self._remote.remote(blob)
                h.future = h.ref.future()
            else:
                h.future = self._executor.submit(_fit_in_worker, blob)
            self._started[id(h)] = time.monotonic()
            self._running.append(h)

    def _wait_for(self, handle: Handle) -> None:
        self._start_queued()
        while handle in self._queue or handle in self._running:
            concurrent.futures.wait([h.future for h in self._running], timeout=self._time_left(),
                                    return_when=concurrent.futures.FIRST_COMPLETED)
            self._check_timeouts()
            self._start_queued()

    def _time_left(self) -> float | None:
        if self.job_timeout is None or not self._running:
            return None
        now = time.monotonic()
        return max(0.05, min(self._started[id(h)] + self.job_timeout - now for h in self._running))

    def _check_timeouts(self) -> None:
        if self.job_timeout is None:
            return
        now = time.monotonic()
        late = [h for h in self._running if not h.future.done() and now - self._started[id(h)] > self.job_timeout]
        if not late:
            return
        if self._ray is not None:
            for h in self._running:
                self._ray.cancel(h.ref, force=True)
        elif self._executor is not None:
            for proc in list(getattr(self._executor, "_processes", {}).values()):
                proc.terminate()  # a running job cannot be cancelled; its worker can be stopped
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        self._running.clear()
        self._queue.clear()
        raise _timeout_error(late[0].job.name, self.job_timeout)

    def _fit_inline(self, job: FitJob) -> Fitted:
        """One job in this process on one torch thread (like a worker), bounded by ``job_timeout``."""
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        deadline = None if self.job_timeout is None else time.monotonic() + self.job_timeout
        trainer = dict(job.trainer)
        if deadline is not None:
            trainer["on_epoch_end"] = functools.partial(_deadline, deadline, job.name, self.job_timeout)
            job = FitJob(**{**job.__dict__, "trainer": trainer})
        try:
            return fit_job(job, progress=self.progress)
        finally:
            torch.set_num_threads(threads)


def _deadline(deadline: float, name: str, timeout: float, record: dict) -> None:
    _log_epoch(name, record)
    if time.monotonic() > deadline:
        raise _timeout_error(name, timeout)


def _timeout_error(name: str, timeout: float) -> ConfigError:
    return ConfigError(
        f"Training job {name!r} ran past its timeout of {timeout:g} s (train.job_timeout) and was stopped, "
        "with the other running jobs. Raise train.job_timeout, or lower train.epochs.",
        f"训练任务 {name!r} 超过了 {timeout:g} 秒的时限（train.job_timeout），已与其他运行中的任务一起停止。"
        "请调大 train.job_timeout，或减少 train.epochs。")


def start_ray(address: str | None = None, *, num_cpus: int = 1, num_gpus: int = 0, start_timeout: float = 120.0):
    """Connect to the Ray cluster at ``address`` (or ``RAY_ADDRESS``), or start a local one with
    ``num_cpus`` / ``num_gpus``; return ``(ray, started_here)`` — shut it down if started here."""
    try:
        import ray
    except ImportError as err:
        from bentu.errors import MissingDependencyError

        raise MissingDependencyError(
            "train.executor: ray needs Ray (pip install 'ray[default]').",
            "train.executor: ray 需要安装 Ray（pip install 'ray[default]'）。") from err
    address = address or os.environ.get("RAY_ADDRESS")
    if address and address != "auto":
        _check_reachable(address)
    if ray.is_initialized():
        return ray, False
    kwargs = {"address": address} if address else {"num_cpus": num_cpus, "num_gpus": num_gpus}
    # Ray ends the whole process when its GCS does not answer in time: give a loaded machine the
    # start-up time asked for (Ray's default is 60 s).
    os.environ.setdefault("RAY_gcs_rpc_server_reconnect_timeout_s", str(int(start_timeout)))
    try:
        ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False, **kwargs)
    except Exception as err:  # Ray raises ConnectionError, RuntimeError, TimeoutError …
        ray.shutdown()
        where = address or "a local cluster"
        raise ConfigError(
            f"Ray did not start on {where}: {err}. Check the address (train.ray_address / RAY_ADDRESS), "
            "or use train.executor: processes.",
            f"Ray 未能在 {where} 启动：{err}。请检查地址（train.ray_address / RAY_ADDRESS），"
            "或改用 train.executor: processes。") from err
    return ray, True


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """Fail fast, with the address named, when nothing listens at a Ray cluster's address."""
    hostport = address.split("://", 1)[-1]
    host, _, port = hostport.rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout):
            return
    except (OSError, ValueError) as err:
        raise ConfigError(
            f"No Ray cluster answers at {address!r} (train.ray_address or RAY_ADDRESS): {err}. Start one "
            "(`ray start --head`), fix the address, or leave it out to start a local cluster.",
            f"地址 {address!r}（train.ray_address 或 RAY_ADDRESS）上没有可连接的 Ray 集群：{err}。"
            "请先启动集群（`ray start --head`）、修正地址，或不设地址以启动本机集群。") from err
