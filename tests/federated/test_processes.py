"""Processes started for Flower are stopped by PID, children included (fast: no Flower)."""

import os
import signal
import time

import psutil
import pytest

from bentu.federated.deploy import ProcessGroup, Terminated, sigterm_as_exception


def test_stop_kills_the_process_and_its_children(tmp_path):
    group = ProcessGroup()
    proc = group.start(["bash", "-c", "sleep 300 & sleep 300 & wait"], dict(os.environ), tmp_path / "p.log")
    deadline = time.monotonic() + 10
    while len(psutil.Process(proc.pid).children()) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    pids = [proc.pid] + [c.pid for c in psutil.Process(proc.pid).children(recursive=True)]
    assert len(pids) == 3
    group.stop(grace=2)
    time.sleep(0.2)
    alive = [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
    assert alive == []


def test_sigterm_interrupts_like_ctrl_c():
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt) as exc, sigterm_as_exception():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)
    assert isinstance(exc.value, Terminated)
    assert signal.getsignal(signal.SIGTERM) is before
