"""A keyed, hash-chained, append-only log of every decision the server makes (``decisions.jsonl``).

One JSON line per scored record: time, request id, position in the request, model hash, input
digest (raw values are never written), output (score and decision) and reason codes. The chain
is the run audit log's (:mod:`bentu.compliance.audit_log`, one implementation): with an audit
key (``BENTU_AUDIT_KEY`` / ``BENTU_AUDIT_KEY_FILE``) each line's ``hash`` is an HMAC-SHA256
under the key covering the line and the ``hash`` before it, and ``input_sha256`` is the
HMAC-SHA256 of the record's canonical JSON, so it cannot be reversed by trying candidate inputs
without the key. Without a key both are plain SHA-256 and each line says
``"integrity": "unkeyed"`` (detects accidents, not forgery; a low-entropy input can be
recovered from its digest by enumeration). :func:`check_decision_log` (``bentu audit
verify-decisions``) finds an edited, deleted or reordered line and reports the head digest.
Lines are flushed to the operating system after every request and synced to disk when the
server shuts down gracefully.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import json
import os
import threading
from pathlib import Path

from bentu.compliance.audit_log import (
    FROM_ENV,
    GENESIS_HASH,
    VerifyReport,
    audit_key,
    canonical_json,
    entry_digest,
    integrity_fields,
    read_chain,
)
from bentu.errors import DataError

__all__ = ["DecisionLog", "verify_decision_log", "check_decision_log", "input_hash"]

_REQUIRED = ("seq", "time", "prev_hash", "hash")


def input_hash(record: dict, key: bytes | None = FROM_ENV) -> str:
    """Digest of a record's canonical JSON (sorted keys, no spaces, UTF-8).

    HMAC-SHA256 under the audit key when one is set (default: from the environment), else
    SHA-256.
    """
    key = audit_key() if key is FROM_ENV else key
    try:
        body = canonical_json(record)
    except UnicodeEncodeError:  # a lone surrogate in a string: hash its escaped form instead
        body = json.dumps(record, sort_keys=True, separators=(",", ":")).encode("ascii")
    if key is None:
        return hashlib.sha256(body).hexdigest()
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def _mode(fields: dict) -> str:
    return f"{fields.get('integrity', 'unkeyed')} {fields.get('key_id') or ''}".strip()


def _tail(path: Path, key: bytes | None) -> tuple[int, str]:
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
        seq, digest = int(last["seq"]), str(last["hash"])
    except (ValueError, KeyError, TypeError) as err:
        raise DataError(
            f"decision log {path}: the last line is not a valid entry; move the file aside and start a new log.",
            f"决策日志 {path}：最后一行不是有效记录；请把该文件移走后重新开始记录。",
        ) from err
    have, want = _mode(last), _mode(integrity_fields(key))
    if have != want:
        raise DataError(
            f"decision log {path} was written with integrity '{have}', but the server now has '{want}'; "
            "set the same BENTU_AUDIT_KEY it was written with, or give a new --decision-log file.",
            f"决策日志 {path} 的完整性方式为 '{have}'，而当前服务为 '{want}'；请设置写入时使用的同一个 "
            "BENTU_AUDIT_KEY，或用 --decision-log 指定新文件。",
        )
    return seq, digest


class DecisionLog:
    """Append decisions to ``path``, continuing the chain of an existing file.

    Thread-safe within one process. Several worker processes each get their own file.

    Parameters
    ----------
    path : str or Path
        The log file.
    key : bytes or None, optional
        The audit key; default from ``BENTU_AUDIT_KEY`` / ``BENTU_AUDIT_KEY_FILE``. An existing
        file must have been written with the same key (or none).
    """

    def __init__(self, path: str | Path, key: bytes | None = FROM_ENV):
        self.path = Path(path)
        self.key = audit_key() if key is FROM_ENV else key
        self._fields = integrity_fields(self.key)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._seq, self._prev = _tail(self.path, self.key)
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
                entry = {"seq": self._seq, "time": now, **body, **self._fields, "prev_hash": self._prev}
                entry["hash"] = self._prev = entry_digest(entry, self.key)
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


def check_decision_log(path: str | Path, *, key: bytes | None = FROM_ENV) -> VerifyReport:
    """Check a decision log's chain (and MACs, with the key); the report has the head digest.

    Raises
    ------
    DataError
        ``path`` is not a readable file.
    """
    path = Path(path)
    try:
        return read_chain(path, audit_key() if key is FROM_ENV else key, _REQUIRED)
    except (IsADirectoryError, FileNotFoundError, PermissionError) as err:
        raise DataError(
            f"decision log '{path}' cannot be read ({err.strerror}); pass the decisions.jsonl file "
            "written by 'bentu serve' (default RUN_DIR/serving/decisions.jsonl).",
            f"无法读取决策日志 '{path}'（{err.strerror}）；请传入 'bentu serve' 写出的 decisions.jsonl"
            "（默认 RUN_DIR/serving/decisions.jsonl）。",
        ) from None


def verify_decision_log(path: str | Path, *, key: bytes | None = FROM_ENV) -> list[str]:
    """Problems found in a decision log's chain, one ``"line N: ..."`` text each (empty: intact)."""
    out = []
    for p in check_decision_log(path, key=key).problems:
        reason = p["reason"]
        if reason.startswith(("the entry's hash does not match", "the entry's MAC does not match")):
            reason = "hash does not match the content: " + reason
        out.append(f"line {p['line']}: {reason}")
    return out
