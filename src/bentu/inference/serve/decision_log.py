"""A hash-chained, append-only log of every decision the server makes (``decisions.jsonl``).

One JSON line per scored record: time, request id, position in the request, model hash, input
hash (SHA-256 of the record's canonical JSON: raw values are never written), output (score and
decision) and reason codes. Each line carries ``prev_hash`` and ``hash`` (SHA-256 of the
canonical JSON of the line without ``hash``), as the run's audit log does, so an edited, deleted
or reordered line is found by :func:`verify_decision_log`. Lines are flushed to the operating
system after every request and synced to disk when the server shuts down gracefully.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import threading
from pathlib import Path

from bentu.compliance.audit_log import GENESIS_HASH, canonical_json
from bentu.errors import DataError

__all__ = ["DecisionLog", "verify_decision_log", "input_hash"]


def input_hash(record: dict) -> str:
    """SHA-256 of a record's canonical JSON (sorted keys, no spaces, UTF-8)."""
    try:
        return hashlib.sha256(canonical_json(record)).hexdigest()
    except UnicodeEncodeError:  # a lone surrogate in a string: hash its escaped form instead
        return hashlib.sha256(json.dumps(record, sort_keys=True, separators=(",", ":")).encode("ascii")).hexdigest()


def _hash(entry: dict) -> str:
    return hashlib.sha256(canonical_json({k: v for k, v in entry.items() if k != "hash"})).hexdigest()


def _tail(path: Path) -> tuple[int, str]:
    if not path.exists() or path.stat().st_size == 0:
        return 0, GENESIS_HASH
    with open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        fh.seek(max(0, size - 65536))
        data = fh.read()
    if not data.endswith(b"\n"):
        raise DataError(
            f"decision log {path}: the last line is incomplete; move the file aside and start a new log.",
            f"决策日志 {path}：最后一行不完整；请把该文件移走后重新开始记录。",
        )
    try:
        last = json.loads(data[:-1].rsplit(b"\n", 1)[-1])
        return int(last["seq"]), str(last["hash"])
    except (ValueError, KeyError, TypeError) as err:
        raise DataError(
            f"decision log {path}: the last line is not a valid entry; move the file aside and start a new log.",
            f"决策日志 {path}：最后一行不是有效记录；请把该文件移走后重新开始记录。",
        ) from err


class DecisionLog:
    """Append decisions to ``path``, continuing the chain of an existing file.

    Thread-safe within one process. Several worker processes each get their own file.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._seq, self._prev = _tail(self.path)
        self._fh = open(self.path, "ab", buffering=1 << 16)
        self._lock = threading.Lock()

    def _file(self):
        # reopened after close(): an app whose lifespan runs again (tests, reloads) keeps logging
        if self._fh.closed:
            self._fh = open(self.path, "ab", buffering=1 << 16)
        return self._fh

    def append_many(self, entries: list[dict]) -> None:
        """Append one line per entry (fields besides seq/time/prev_hash/hash) and flush."""
        now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="microseconds")
        with self._lock:
            lines = []
            for body in entries:
                self._seq += 1
                entry = {"seq": self._seq, "time": now, **body, "prev_hash": self._prev}
                entry["hash"] = self._prev = _hash(entry)
                lines.append(canonical_json(entry) + b"\n")
            fh = self._file()
            fh.write(b"".join(lines))
            fh.flush()

    def close(self) -> None:
        """Flush, sync to disk and close (graceful shutdown)."""
        with self._lock:
            if self._fh.closed:
                return
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()


def verify_decision_log(path: str | Path) -> list[str]:
    """Problems found in a decision log's hash chain (empty list: intact)."""
    problems, prev, seq = [], GENESIS_HASH, 0
    for i, raw in enumerate(Path(path).read_bytes().splitlines(), start=1):
        try:
            entry = json.loads(raw)
        except ValueError:
            problems.append(f"line {i}: not JSON")
            prev = None
            continue
        if entry.get("hash") != _hash(entry):
            problems.append(f"line {i}: hash does not match the content")
        elif prev is not None and entry.get("prev_hash") != prev:
            problems.append(f"line {i}: prev_hash does not match line {i - 1}")
        elif entry.get("seq") != seq + 1:
            problems.append(f"line {i}: seq {entry.get('seq')} after {seq}")
        prev, seq = entry.get("hash"), entry.get("seq") if isinstance(entry.get("seq"), int) else seq
    return problems
