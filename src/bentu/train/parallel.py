"""Train independent models side by side in worker processes, one torch thread each.

On CPU a kernel's float sums depend on how many threads split the work, so the same seed trains
another model on a machine with another thread count. :class:`TrainPool` with ``processes=N``
trains every :class:`FitJob` in one of N spawned worker processes on **one** torch thread: the
same jobs give bit-identical models whatever the machine's core count, the number of workers or
the order of the jobs (for one CPU instruction set and torch build: those choose the kernels).
For small CNNs it is also faster: on 2 cores two one-thread trainings of the BreastMNIST model
do 1.22× the steps per second of one two-thread training (``bench/trainer_speed.py``).
``processes=0`` trains in this process at its current thread count, one job after the other
(the behaviour without a pool).

A job builds its model from the registry, seeded, optionally starts from pretrained weights (with
frozen layers), and trains it with a :class:`~bentu.train.Trainer` (or a subclass). Jobs wait in
a queue and start highest ``priority`` first, then in the order they were submitted; the pool
starts queued jobs whenever the caller submits one or waits for a result.
"""

from __future__ import annotations

import concurrent.futures
from concurrent.futures.process import BrokenProcessPool
import functools
import logging
import multiprocessing
import pickle
import time
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.utils.data import Dataset

from bentu.errors import ConfigError

__all__ = ["FitJob", "Fitted", "TrainPool", "fit_job"]

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
              "on_epoch_end": functools.partial(_log_epoch, job.name)}
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
            model = _build(self.job)
            model.load_state_dict(self._out["state"])
            self._fitted = Fitted(self.job.name, model.eval(), self._out["best_epoch"], self._out["best_score"],
                                  self._out["epochs_run"], self._out["seconds"])
            self.job = self._out = None  # drop the job's data and initial weights
        return self._fitted


class TrainPool:
    """Train :class:`FitJob` s here (``processes=0``) or in ``processes`` one-thread workers.

    Use as a context manager; leaving it stops the workers (after their current job when an
    error is being raised). ``progress`` shows one Rich bar over the jobs (workers show none).
    """

    def __init__(self, processes: int = 0, *, progress: bool = False, description: str = "training models"):
        if not isinstance(processes, int) or isinstance(processes, bool) or processes < 0:
            raise ConfigError(
                f"The 'processes' parameter of TrainPool must be an int >= 0. Got {processes!r} instead.",
                f"TrainPool 的参数 'processes' 必须是大于等于 0 的整数，实际为 {processes!r}。",
            )
        self.processes, self.progress, self.description = processes, progress, description
        self._queue: list[Handle] = []
        self._running: list[Handle] = []
        self._executor: concurrent.futures.ProcessPoolExecutor | None = None
        self._bar = self._task = None
        self._submitted = self._finished = 0

    def __enter__(self) -> TrainPool:
        if self.processes:
            self._executor = concurrent.futures.ProcessPoolExecutor(
                self.processes, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker,
                initargs=(logging.getLogger("bentu").getEffectiveLevel(),))
        if self.progress and self.processes:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=Console(stderr=True), transient=True)
            self._bar.__enter__()
            self._task = self._bar.add_task(f"{self.description} ({self.processes} processes)", total=0)
        return self

    def __exit__(self, exc_type, *rest) -> None:
        if self._bar is not None:
            self._bar.__exit__(exc_type, *rest)
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=exc_type is not None)
            self._executor = None

    def submit(self, job: FitJob) -> Handle:
        """Queue ``job`` (with ``processes=0``: train it now) and return its handle."""
        handle = Handle(self, job)
        if not self.processes:
            handle._fitted = fit_job(job, progress=self.progress)
            handle.job = None
            return handle
        if self._executor is None:
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
            h.future = self._executor.submit(_fit_in_worker, pickle.dumps(h.job))
            self._running.append(h)

    def _wait_for(self, handle: Handle) -> None:
        self._start_queued()
        while handle in self._queue or handle in self._running:
            concurrent.futures.wait([h.future for h in self._running], return_when=concurrent.futures.FIRST_COMPLETED)
            self._start_queued()
