"""The one way bentu writes a file: into a temporary file beside it, renamed into place on success.

A crash, a kill or an exception while writing leaves the destination absent (or as it was), never
half-written, and leaves no temporary file behind when Python can still clean up. The run's JSON
artifacts (``rundir``), the model weights, model cards, ``bentu pii mask`` output and the files the
command line writes go through here (``bentu predict`` streams through its own writer, renamed the
same way). The temporary file is created by ``mkstemp``, so what is written is readable by its
owner only (mode 0600). Like :mod:`bentu.metrics` it sits below the layers and imports nothing of
bentu.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

__all__ = ["atomic_path", "atomic_output", "write_text_atomic"]


@contextlib.contextmanager
def atomic_path(path: Path, *, fsync: bool = True) -> Iterator[Path]:
    """Yield a fresh temporary path beside ``path`` for a writer that takes a file name (safetensors,
    Arrow); on a clean exit it is flushed to disk and renamed to ``path``, otherwise removed.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_path(d / "a.txt") as tmp:
    ...     _ = tmp.write_text("x")
    >>> sorted(p.name for p in d.iterdir())
    ['a.txt']
    """
    path = Path(path)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        if fsync:
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


@contextlib.contextmanager
def atomic_output(path: Path, mode: str = "w", encoding: str | None = "utf-8", newline: str | None = None,
                  ) -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path`` for writing; rename it to ``path`` on success only."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        fh = os.fdopen(fd, mode) if "b" in mode else os.fdopen(fd, mode, encoding=encoding, newline=newline)
        with fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8, newlines as given) to ``path`` atomically."""
    with atomic_output(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)
