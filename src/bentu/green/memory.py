"""Peak memory of a child process (Linux ``/proc``), for benchmarks and memory tests."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

__all__ = ["peak_rss_kib"]


def peak_rss_kib(child: subprocess.Popen, interval: float = 0.05) -> int:
    """Poll ``child``'s VmHWM until it exits; returns its peak RSS in KiB (0 where /proc is missing).

    VmHWM is the high-water mark of the child's own address space, reset at exec, so the parent's
    memory is not counted.
    """
    peak = 0
    while child.poll() is None:
        try:
            status = Path(f"/proc/{child.pid}/status").read_text()
        except OSError:
            break
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peak = max(peak, int(line.split()[1]))
        time.sleep(interval)
    return peak
