"""A hash-chained, append-only audit log of a run (``audit.jsonl``).

Every pipeline step appends one JSON line with who did what, when, with which software, and the
SHA-256 of what it read and wrote: the traceability fields of JR/T 0221-2021 §6.4 (training data:
time, source, volume, checksum; modelling: environment, operator, start/end; deployment:
operator, time, result, configuration) and the automatic logging of EU AI Act Art. 12.

Each entry carries ``prev_hash`` (the ``hash`` of the line before it; 64 zeros for the first
line) and ``hash``, the SHA-256 of the canonical JSON of the entry without ``hash`` (keys sorted,
no spaces, UTF-8). Editing, deleting, reordering or inserting a line breaks the chain;
:func:`verify_run` finds the first break and also re-hashes every artifact of the run directory
against the last hash the log recorded for it.

Limitation: a hash chain alone cannot show that lines were removed from its *end*. Record
:attr:`AuditLog.head` somewhere else (a report, a ticket, a signed message) to anchor it.
"""

from __future__ import annotations

import datetime as _dt
import enum
import functools
import getpass
import hashlib
import json
import math
import os
import platform
import socket
import sys
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path, PurePath
from typing import Any

from bentu.data.io import sha256_file
from bentu.errors import DataError

try:  # POSIX only; on other systems appends are not locked against other processes.
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "AuditLog",
    "VerifyReport",
    "verify_run",
    "GENESIS_HASH",
    "AUDIT_FILE",
    "canonical_json",
    "sha256_file",
    "sha256_path",
    "environment",
]

AUDIT_FILE = "audit.jsonl"
GENESIS_HASH = "0" * 64

# Problem messages (English, Chinese). Tests check them word for word.
MSG_EMPTY = ("audit.jsonl has no entries", "audit.jsonl 中没有任何记录")
MSG_NOT_JSON = (
    "the line is not a complete JSON object (it was edited or truncated)",
    "该行不是完整的 JSON 对象（被编辑或截断）",
)
MSG_NO_NEWLINE = (
    "the last line does not end with a newline (it was truncated or written partly)",
    "最后一行没有以换行符结尾（被截断或未写完）",
)
MSG_FIELDS = (
    "the entry lacks the fields {fields}",
    "该记录缺少字段 {fields}",
)
MSG_HASH = (
    "the entry's hash does not match its content (the line was edited)",
    "该记录的哈希与内容不符（该行被编辑过）",
)
MSG_PREV_FIRST = (
    "prev_hash of the first line is not 64 zeros (lines before it were deleted, or lines were "
    "reordered)",
    "第一行的 prev_hash 不是 64 个 0（其前面的行被删除，或行的顺序被调换）",
)
MSG_PREV = (
    "prev_hash does not match the hash of line {prev} (a line was deleted, inserted or reordered, "
    "or this line was appended out of chain)",
    "prev_hash 与第 {prev} 行的哈希不符（有行被删除、插入或调换顺序，或该行不在哈希链上）",
)
MSG_SEQ = (
    "seq is {seq} but {want} was expected after the line before (the log was rewritten)",
    "seq 为 {seq}，但按前一行应为 {want}（日志被改写过）",
)
MSG_ARTIFACT_CHANGED = (
    "artifact '{path}' ({role} '{name}') no longer matches its recorded SHA-256 "
    "(recorded {want}…, now {got}…)",
    "产物 '{path}'（{role} '{name}'）与记录的 SHA-256 不符（记录 {want}…，现在 {got}…）",
)
MSG_ARTIFACT_MISSING = (
    "artifact '{path}' ({role} '{name}') recorded with SHA-256 {want}… is missing",
    "产物 '{path}'（{role} '{name}'，记录的 SHA-256 为 {want}…）不存在",
)
_REQUIRED = ("seq", "time", "step", "prev_hash", "hash")


# --------------------------------------------------------------------------------- hashing


def canonical_json(obj: Any) -> bytes:
    """Return the canonical JSON bytes of ``obj``: sorted keys, no spaces, UTF-8."""
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def _entry_hash(entry: dict) -> str:
    body = {k: v for k, v in entry.items() if k != "hash"}
    return hashlib.sha256(canonical_json(body)).hexdigest()


def _dir_manifest(path: Path) -> list[tuple[str, str]]:
    """Return sorted ``(relative posix path, sha256)`` of every file under ``path``."""
    rows = []
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames.sort()
        for name in filenames:
            full = Path(dirpath, name)
            rows.append((full.relative_to(path).as_posix(), sha256_file(full)))
    return sorted(rows)


def sha256_path(path: Path) -> tuple[str, int | None]:
    """Hash a file, or a directory as its manifest.

    A directory's hash is the SHA-256 of the text ``"<sha256>  <relative path>\\n"`` for each
    file under it, sorted by relative path (the format of ``sha256sum``).

    Returns
    -------
    tuple
        ``(hex sha256, number of files)``; the count is ``None`` for a plain file.
    """
    if path.is_dir():
        rows = _dir_manifest(path)
        text = "".join(f"{digest}  {rel}\n" for rel, digest in rows)
        return hashlib.sha256(text.encode("utf-8")).hexdigest(), len(rows)
    return sha256_file(path), None


# ----------------------------------------------------------------------------- environment


def _dist_version(name: str) -> str | None:
    module = sys.modules.get(name)
    if module is not None and hasattr(module, "__version__"):
        return str(module.__version__)
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


@functools.cache
def environment() -> dict[str, str | None]:
    """Return the software and platform versions recorded in each entry (computed once)."""
    import bentu

    return {
        "python": platform.python_version(),
        "bentu": bentu.__version__,
        "torch": _dist_version("torch"),
        "numpy": _dist_version("numpy"),
        "platform": platform.platform(),
    }


@functools.cache
def _default_operator() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry / no login name in containers
        user = str(os.getuid()) if hasattr(os, "getuid") else "unknown"
    return f"{user}@{socket.gethostname()}"


def _jsonable(value: Any, where: str) -> Any:
    """Convert ``value`` to plain JSON types (Paths, numpy scalars/arrays, sets, enums)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, (set, frozenset)):
        return sorted((_jsonable(v, where) for v in value), key=repr)
    if isinstance(value, PurePath):
        return value.as_posix()
    if isinstance(value, enum.Enum):
        return _jsonable(value.value, where)
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    if hasattr(value, "tolist"):  # numpy scalars and arrays, torch tensors
        return _jsonable(value.tolist(), where)
    if hasattr(value, "model_dump"):  # pydantic models
        return _jsonable(value.model_dump(), where)
    raise DataError(
        en=f"audit log: parameter '{where}' has type {type(value).__name__}, which cannot be "
        "written as JSON; pass numbers, strings, lists, dicts or paths.",
        zh=f"审计日志：参数 '{where}' 的类型为 {type(value).__name__}，无法写成 JSON；"
        "请传入数字、字符串、列表、字典或路径。",
    )


# ------------------------------------------------------------------------------- the log


class AuditLog:
    """Append-only, hash-chained JSON Lines log of a run's steps.

    Parameters
    ----------
    path : Path
        The ``audit.jsonl`` file. It is created on the first append; an existing log is
        continued (its last line gives ``seq`` and ``prev_hash``).
    root : Path, optional
        The run directory. Artifacts under it are recorded by their path relative to it, so the
        log stays valid when the directory is renamed. Defaults to ``path.parent``.
    operator : str, optional
        Who runs the steps. Defaults to ``user@host``.

    Examples
    --------
    >>> log = AuditLog(run_dir / "audit.jsonl")                     # doctest: +SKIP
    >>> log.append("train", params={"epochs": 3}, outputs={"model": run_dir / "model"})
    """

    def __init__(self, path: Path, *, root: Path | None = None, operator: str | None = None):
        self.path = Path(path)
        self.root = Path(root) if root is not None else self.path.parent
        self.operator = operator or _default_operator()

    @property
    def head(self) -> tuple[int, str]:
        """``(seq, hash)`` of the last entry, ``(0, 64 zeros)`` for an empty log."""
        if not self.path.exists():
            return 0, GENESIS_HASH
        with open(self.path, "rb") as fh:
            return self._tail(fh)

    def append(
        self,
        step: str,
        *,
        params: dict | None = None,
        inputs: dict[str, str | Path] | None = None,
        outputs: dict[str, str | Path] | None = None,
    ) -> dict:
        """Append one entry and return it (with its ``hash``).

        Parameters
        ----------
        step : str
            The pipeline step, e.g. ``"load_data"``, ``"train"``, ``"export"``.
        params : dict, optional
            The step's parameters; converted to plain JSON (paths become strings, numpy scalars
            numbers).
        inputs, outputs : dict, optional
            ``{name: path}`` of files or directories read / written. Relative paths are taken
            from the current directory, or else from ``root``. Each is recorded as
            ``{"path": ..., "sha256": ...}`` (plus ``"files"`` for a directory).

        Raises
        ------
        DataError
            An input or output does not exist, a parameter is not JSON-serialisable, or the log
            ends with an incomplete line.
        """
        body = {
            "step": str(step),
            "operator": self.operator,
            "environment": environment(),
            "params": _jsonable(params or {}, "params"),
            "inputs": self._artifacts(inputs or {}, "inputs"),
            "outputs": self._artifacts(outputs or {}, "outputs"),
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a+b") as fh:
            if fcntl is not None:
                fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                seq, prev = self._tail(fh)
                entry = {
                    "seq": seq + 1,
                    "time": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="microseconds"),
                    **body,
                    "prev_hash": prev,
                }
                entry["hash"] = _entry_hash(entry)
                fh.seek(0, os.SEEK_END)
                fh.write(canonical_json(entry) + b"\n")
                fh.flush()
                os.fsync(fh.fileno())
            finally:
                if fcntl is not None:
                    fcntl.flock(fh, fcntl.LOCK_UN)
        return entry

    def _resolve(self, value: str | Path) -> Path:
        p = Path(value)
        if not p.is_absolute() and not p.exists() and (self.root / p).exists():
            p = self.root / p
        return p

    def _artifacts(self, items: dict[str, str | Path], role: str) -> dict[str, dict]:
        out = {}
        root = self.root.resolve()
        for name, value in items.items():
            p = self._resolve(value)
            if not p.exists():
                raise DataError(
                    en=f"audit log: {role} '{name}' is {str(value)!r}, which does not exist; "
                    "record only files or directories (put other values in params).",
                    zh=f"审计日志：{role} '{name}' 为 {str(value)!r}，该路径不存在；"
                    "只记录文件或目录（其它值请放在 params 中）。",
                )
            full = p.resolve()
            try:
                shown = full.relative_to(root).as_posix()
            except ValueError:
                shown = full.as_posix()
            digest, n_files = sha256_path(full)
            out[str(name)] = {"path": shown, "sha256": digest}
            if n_files is not None:
                out[str(name)]["files"] = n_files
        return out

    def _tail(self, fh) -> tuple[int, str]:
        """Read ``(seq, hash)`` of the last line of an open binary file."""
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        if size == 0:
            return 0, GENESIS_HASH
        block, data = 4096, b""
        pos = size
        while pos > 0:
            step = min(block, pos)
            pos -= step
            fh.seek(pos)
            data = fh.read(step) + data
            if data[:-1].rfind(b"\n") >= 0:
                break
        if not data.endswith(b"\n"):
            raise DataError(
                en=f"audit log {self.path}: the last line is incomplete; run "
                f"'bentu audit verify {self.root}' before appending.",
                zh=f"审计日志 {self.path}：最后一行不完整；追加前请运行 "
                f"'bentu audit verify {self.root}'。",
            )
        last = data[:-1].rsplit(b"\n", 1)[-1]
        try:
            entry = json.loads(last)
            return int(entry["seq"]), str(entry["hash"])
        except (ValueError, KeyError, TypeError) as err:
            raise DataError(
                en=f"audit log {self.path}: the last line is not a valid entry; run "
                f"'bentu audit verify {self.root}'.",
                zh=f"审计日志 {self.path}：最后一行不是有效记录；请运行 "
                f"'bentu audit verify {self.root}'。",
            ) from err


# ---------------------------------------------------------------------------- verification


@dataclass
class VerifyReport:
    """What :func:`verify_run` found.

    Attributes
    ----------
    ok : bool
        True when the chain is intact and every recorded artifact matches.
    entries : int
        Number of lines in ``audit.jsonl``.
    problems : list of dict
        ``{"line": int, "reason": str (English), "reason_zh": str}``, sorted by line.
    artifacts : int
        Number of run-directory artifacts re-hashed.
    """

    ok: bool
    entries: int
    problems: list[dict] = field(default_factory=list)
    artifacts: int = 0

    @property
    def first(self) -> dict | None:
        """The first problem, or None."""
        return self.problems[0] if self.problems else None


def _problem(line: int, msg: tuple[str, str], **kw) -> dict:
    return {"line": line, "reason": msg[0].format(**kw), "reason_zh": msg[1].format(**kw)}


def _safe_hash(entry: dict) -> str | None:
    try:
        return _entry_hash(entry)
    except ValueError:  # NaN / Infinity written into a line by hand
        return None


def _check_chain(lines: list[bytes], ends_with_newline: bool) -> tuple[list[dict], list[dict]]:
    """Return (parsed entries with their line numbers, problems) for the raw lines."""
    problems, entries = [], []
    prev_hash, prev_line, prev_seq = GENESIS_HASH, 0, 0
    for i, raw in enumerate(lines, start=1):
        if i == len(lines) and not ends_with_newline:
            problems.append(_problem(i, MSG_NO_NEWLINE))
        try:
            entry = json.loads(raw)
            if not isinstance(entry, dict):
                raise ValueError
        except ValueError:
            problems.append(_problem(i, MSG_NOT_JSON))
            prev_hash, prev_line, prev_seq = None, i, None
            continue
        missing = [k for k in _REQUIRED if k not in entry]
        if missing:
            problems.append(_problem(i, MSG_FIELDS, fields=", ".join(missing)))
        elif _safe_hash(entry) != entry["hash"]:
            problems.append(_problem(i, MSG_HASH))
        elif prev_hash is not None and entry["prev_hash"] != prev_hash:
            msg = MSG_PREV_FIRST if i == 1 else MSG_PREV
            problems.append(_problem(i, msg, prev=prev_line))
        elif prev_seq is not None and entry["seq"] != prev_seq + 1:
            problems.append(_problem(i, MSG_SEQ, seq=entry["seq"], want=prev_seq + 1))
        entries.append((i, entry))
        prev_hash, prev_line = entry.get("hash"), i
        prev_seq = entry.get("seq") if isinstance(entry.get("seq"), int) else None
    return entries, problems


def _check_artifacts(entries: list[tuple[int, dict]], run_dir: Path) -> tuple[int, list[dict]]:
    """Re-hash each run-directory artifact against the last entry that mentions its path."""
    last: dict[str, tuple[int, str, str, dict]] = {}
    for line, entry in entries:
        for role in ("inputs", "outputs"):
            items = entry.get(role)
            if not isinstance(items, dict):
                continue
            for name, rec in items.items():
                if isinstance(rec, dict) and isinstance(rec.get("path"), str):
                    last[rec["path"]] = (line, role[:-1], name, rec)
    problems, checked = [], 0
    for path, (line, role, name, rec) in last.items():
        if Path(path).is_absolute():  # outside the run directory (e.g. shared source data)
            continue
        checked += 1
        want = str(rec.get("sha256", ""))
        target = run_dir / path
        if not target.exists():
            problems.append((line, False, _problem(
                line, MSG_ARTIFACT_MISSING, path=path, role=role, name=name, want=want[:12]
            )))
            continue
        got, _ = sha256_path(target)
        if got != want:
            problems.append((line, target.is_dir(), _problem(
                line, MSG_ARTIFACT_CHANGED, path=path, role=role, name=name,
                want=want[:12], got=got[:12],
            )))
    # by line; a changed file before the directory that contains it (more specific)
    return checked, [p for *_, p in sorted(problems, key=lambda x: x[:2])]


def verify_run(run_dir: Path) -> VerifyReport:
    """Check the hash chain of ``run_dir/audit.jsonl`` and the artifacts it recorded.

    Detects a line that was edited, deleted, inserted, reordered, truncated or appended out of
    chain, and an artifact under ``run_dir`` whose file (or directory manifest) no longer
    matches the hash recorded by the last entry that mentions its path. Artifacts are checked
    only when the chain is intact: a broken log cannot say which recorded hash is the last.

    Parameters
    ----------
    run_dir : Path
        A run directory containing ``audit.jsonl``.

    Returns
    -------
    VerifyReport

    Raises
    ------
    DataError
        ``run_dir`` or its ``audit.jsonl`` does not exist.
    """
    run_dir = Path(run_dir)
    log = run_dir / AUDIT_FILE
    if not run_dir.is_dir():
        raise DataError(
            en=f"run directory '{run_dir}' does not exist; pass the folder that "
            "'bentu run' wrote (runs/<recipe>-<time>).",
            zh=f"运行目录 '{run_dir}' 不存在；请传入 'bentu run' 写出的目录（runs/<配方>-<时间>）。",
        )
    if not log.is_file():
        raise DataError(
            en=f"'{log}' does not exist: '{run_dir}' has no audit log; pass a run directory "
            "written by 'bentu run'.",
            zh=f"'{log}' 不存在：'{run_dir}' 没有审计日志；请传入 'bentu run' 写出的运行目录。",
        )
    data = log.read_bytes()
    if not data.strip():
        return VerifyReport(ok=False, entries=0, problems=[_problem(1, MSG_EMPTY)])
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    entries, problems = _check_chain(lines, data.endswith(b"\n"))
    if problems:  # a broken log cannot say which hash is the last one; report the break
        return VerifyReport(ok=False, entries=len(lines), problems=problems)
    checked, problems = _check_artifacts(entries, run_dir)
    return VerifyReport(ok=not problems, entries=len(lines), problems=problems, artifacts=checked)
