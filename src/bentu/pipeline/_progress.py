"""Progress of a run, step by step, on stderr.

In a terminal: a Rich spinner naming the step under way with its elapsed time, and a line per
finished step. Otherwise (a log file, CI, a pipe): one plain line per finished step. A step ends
when it is recorded in the audit log, so every recorded step is reported and none is invented.
"""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console

from bentu.compliance.audit_log import AuditLog
from bentu.i18n import is_zh

__all__ = ["StepProgress", "ReportingAuditLog"]


class StepProgress:
    """Reports finished steps; silent when ``enabled`` is False.

    Parameters
    ----------
    enabled : bool
        Report at all (``bentu run --quiet`` and the Python API's default turn it off).
    lang : {"en", "zh"}
    console : rich.console.Console, optional
        Where to write; default stderr. Its ``is_terminal`` chooses spinner or plain lines.
    """

    def __init__(self, enabled: bool, lang: str = "en", console: Console | None = None):
        self.enabled, self.zh = enabled, is_zh(lang)
        self.console = console or Console(stderr=True, highlight=False, soft_wrap=True)
        self.live = enabled and self.console.is_terminal
        self._status = None
        self._start = self._last = time.perf_counter()

    def _working(self, after: str | None) -> str:
        if self.zh:
            return f"运行中（上一步：{after}）…" if after else "运行中…"
        return f"working (after {after})…" if after else "working…"

    def __enter__(self) -> StepProgress:
        self._start = self._last = time.perf_counter()
        if self.live:
            self._status = self.console.status(self._working(None))
            self._status.__enter__()
        return self

    def step(self, name: str) -> None:
        """Called when step ``name`` has finished."""
        if not self.enabled:
            return
        now = time.perf_counter()
        secs, total = now - self._last, now - self._start
        self._last = now
        if self.live:
            self.console.print(f"[green]✓[/] {name} [dim]{secs:.1f} s[/]", markup=True)
            self._status.update(self._working(name))
        else:
            line = (f"bentu：步骤 {name} 完成，用时 {secs:.1f} 秒（累计 {total:.1f} 秒）" if self.zh
                    else f"bentu: step {name} done in {secs:.1f} s ({total:.1f} s in all)")
            self.console.print(line, markup=False)

    def __exit__(self, *exc: object) -> None:
        if self._status is not None:
            self._status.__exit__(*exc)
            self._status = None


class ReportingAuditLog(AuditLog):
    """The run's audit log, telling ``progress`` about each step it records."""

    def __init__(self, path: Path, *, progress: StepProgress, **kw):
        super().__init__(path, **kw)
        self.progress = progress

    def append(self, step: str, **kw) -> dict:
        entry = super().append(step, **kw)
        self.progress.step(step)
        return entry
