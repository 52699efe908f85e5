"""A hash-chained, append-only audit log of a run (``audit.jsonl``).

Every pipeline step appends one JSON line with who did what, when, with which software, and the
SHA-256 of what it read and wrote: the traceability fields of JR/T 0221-2021 §6.4 (training data:
time, source, volume, checksum; modelling: environment, operator, start/end; deployment:
operator, time, result, configuration) and the automatic logging of EU AI Act Art. 12.

Each entry carries ``prev_hash`` (the ``hash`` of the line before it; 64 zeros for the first
line) and ``hash``, computed over the canonical JSON of the entry without ``hash`` (keys sorted,
no spaces, UTF-8). Editing, deleting, reordering or inserting a line breaks the chain;
:func:`verify_run` finds the first break and also re-hashes every artifact of the run directory
against the last hash the log recorded for it.

**Keyed and unkeyed logs.** When the operator holds an audit key (``BENTU_AUDIT_KEY`` holds the
secret itself, or ``BENTU_AUDIT_KEY_FILE`` names a file holding it), ``hash`` is the
HMAC-SHA256 of that canonical JSON under the key, and each entry says
``"integrity": "hmac-sha256"`` and ``"key_id"`` (the first 8 hex digits of the key's SHA-256), so
that a wrong key is told apart from tampering. Without the key nobody can rewrite the files and
recompute the chain unseen. Without a key the entries chain with plain SHA-256 and say
``"integrity": "unkeyed"``: that detects accidents, not forgery (anyone can recompute it). The
same primitives (:func:`integrity_fields`, :func:`entry_digest`, :func:`check_chain`) chain the
server's decision log.

A pipeline run ends with a ``"complete"`` entry (:meth:`AuditLog.complete`) that records the
SHA-256 of every file of the run directory; :func:`require_complete_run` refuses a directory
without it (an interrupted run) and is what ``serve``, ``compress`` and ``monitor`` call.

Limitation: a chain alone cannot show that lines were removed from its *end* (after the
``complete`` entry), nor that a whole run directory was replaced by another genuine one. Record
the head digest (:attr:`VerifyReport.head`, printed by ``bentu audit verify``) somewhere else (a
ticket, a signed message) and check it with ``--expect-head``.
"""

from __future__ import annotations

import datetime as _dt
import enum
import functools
import getpass
import hashlib
import hmac
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
from bentu.errors import ConfigError, DataError
from bentu.i18n import is_zh

try:  # POSIX only; on other systems appends are not locked against other processes.
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "AuditLog",
    "VerifyReport",
    "verify_run",
    "require_complete_run",
    "audit_key",
    "key_id",
    "integrity_fields",
    "entry_digest",
    "check_chain",
    "integrity_note",
    "KEY_ENV",
    "KEY_FILE_ENV",
    "COMPLETE_STEP",
    "GENESIS_HASH",
    "AUDIT_FILE",
    "canonical_json",
    "sha256_file",
    "sha256_path",
    "environment",
]

AUDIT_FILE = "audit.jsonl"
GENESIS_HASH = "0" * 64
KEY_ENV = "BENTU_AUDIT_KEY"
KEY_FILE_ENV = "BENTU_AUDIT_KEY_FILE"
KEYED = "hmac-sha256"
UNKEYED = "unkeyed"
COMPLETE_STEP = "complete"
MIN_KEY_BYTES = 16

UNKEYED_NOTE = (
    "integrity: unkeyed — detects accidents, not forgery",
    "完整性：未使用密钥 — 只能发现意外损坏，不能发现伪造",
)
KEYED_NOTE = (
    "integrity: HMAC-SHA256 under audit key id {key_id}",
    "完整性：HMAC-SHA256，审计密钥编号 {key_id}",
)

# Problem messages (English, Chinese). Tests check them word for word.
MSG_EMPTY = ("{name} has no entries", "{name} 中没有任何记录")
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
MSG_MAC = (
    "the entry's MAC does not match its content (the line was edited, or rewritten without the "
    "audit key)",
    "该记录的 MAC 与内容不符（该行被编辑过，或被不持有审计密钥的人改写）",
)
MSG_WRONG_KEY = (
    "wrong key: the entry was authenticated with audit key id {want}, but the key set now has id "
    "{got}; set the BENTU_AUDIT_KEY the log was written with",
    "密钥错误：该记录使用编号为 {want} 的审计密钥认证，而当前设置的密钥编号为 {got}；"
    "请设置写入该日志时使用的 BENTU_AUDIT_KEY",
)
MSG_NO_KEY = (
    "the entry is authenticated with audit key id {want}, but no key is set; set BENTU_AUDIT_KEY "
    "or BENTU_AUDIT_KEY_FILE to verify it",
    "该记录使用编号为 {want} 的审计密钥认证，但当前未设置密钥；请设置 BENTU_AUDIT_KEY 或 "
    "BENTU_AUDIT_KEY_FILE 后再校验",
)
MSG_UNKEYED_WITH_KEY = (
    "the entry is unkeyed although an audit key is set: it was written without the key, or "
    "rewritten by someone who does not hold it (unset BENTU_AUDIT_KEY to check a run made without "
    "a key)",
    "已设置审计密钥，但该记录未使用密钥：它是在没有密钥时写入的，或被不持有密钥的人改写"
    "（检查未使用密钥的运行时请取消设置 BENTU_AUDIT_KEY）",
)
MSG_MIXED_KEYS = (
    "the entry was authenticated with audit key id {got}, but the log began with key id {want} "
    "(the log was rewritten under another key)",
    "该记录使用编号为 {got} 的审计密钥认证，而日志开头使用编号为 {want} 的密钥（日志被用其它密钥改写过）",
)
MSG_INTEGRITY = (
    "the entry's integrity field is {got!r}; expected 'hmac-sha256' or 'unkeyed'",
    "该记录的 integrity 字段为 {got!r}；应为 'hmac-sha256' 或 'unkeyed'",
)
MSG_INCOMPLETE = (
    "the run is incomplete: audit.jsonl has no 'complete' entry (the run was interrupted or "
    "killed, is still running, or the log's tail was cut)",
    "运行不完整：audit.jsonl 中没有 'complete' 记录（运行被中断或被终止、仍在运行，或日志末尾被截掉）",
)
_REQUIRED = ("seq", "time", "step", "prev_hash", "hash")


# --------------------------------------------------------------------------------- hashing


def canonical_json(obj: Any) -> bytes:
    """Return the canonical JSON bytes of ``obj``: sorted keys, no spaces, UTF-8."""
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


class _FromEnv:
    """Sentinel: read the audit key from the environment."""

    def __repr__(self) -> str:
        return "FROM_ENV"


FROM_ENV: Any = _FromEnv()


@functools.lru_cache(maxsize=8)
def _read_key_file(path: str, mtime_ns: int, size: int) -> bytes:
    return Path(path).read_bytes().strip()


def audit_key() -> bytes | None:
    """The operator's audit key from the environment, or None when none is set.

    ``BENTU_AUDIT_KEY`` holds the secret itself (its UTF-8 bytes are the key);
    ``BENTU_AUDIT_KEY_FILE`` names a file holding it (surrounding whitespace is ignored). Set
    one of them, of at least 16 bytes.

    Raises
    ------
    ConfigError
        Both variables are set, the file cannot be read, or the key is shorter than 16 bytes.
    """
    inline = os.environ.get(KEY_ENV)
    file = os.environ.get(KEY_FILE_ENV)
    if inline and file:
        raise ConfigError(
            f"both {KEY_ENV} and {KEY_FILE_ENV} are set; set only one of them (the key itself, or "
            "the file holding it).",
            f"{KEY_ENV} 和 {KEY_FILE_ENV} 同时被设置；请只设置其中一个（密钥本身，或存放密钥的文件）。",
        )
    if file:
        try:
            st = os.stat(file)
            key = _read_key_file(file, st.st_mtime_ns, st.st_size)
        except OSError as err:
            raise ConfigError(
                f"{KEY_FILE_ENV} is {file!r}, which cannot be read ({err.strerror or err}); point it "
                "at the file holding the audit key.",
                f"{KEY_FILE_ENV} 为 {file!r}，无法读取（{err.strerror or err}）；请让它指向存放审计密钥的文件。",
            ) from None
        where = f"the file {file!r} named by {KEY_FILE_ENV}"
        where_zh = f"{KEY_FILE_ENV} 指向的文件 {file!r}"
    elif inline:
        key = inline.encode("utf-8", "surrogateescape")
        where, where_zh = KEY_ENV, KEY_ENV
    else:
        return None
    if len(key) < MIN_KEY_BYTES:
        raise ConfigError(
            f"the audit key in {where} has {len(key)} bytes; it must have at least {MIN_KEY_BYTES} "
            "(make one with: python -c \"import secrets; print(secrets.token_hex(32))\").",
            f"{where_zh} 中的审计密钥只有 {len(key)} 字节；至少需要 {MIN_KEY_BYTES} 字节"
            "（可用 python -c \"import secrets; print(secrets.token_hex(32))\" 生成）。",
        )
    return key


def _key(key: Any) -> bytes | None:
    return audit_key() if key is FROM_ENV else key


def key_id(key: bytes) -> str:
    """The public name of a key: the first 8 hex digits of its SHA-256."""
    return hashlib.sha256(key).hexdigest()[:8]


def integrity_fields(key: bytes | None) -> dict[str, str]:
    """The fields that say how an entry is authenticated (written into every entry)."""
    if key is None:
        return {"integrity": UNKEYED}
    return {"integrity": KEYED, "key_id": key_id(key)}


def integrity_note(key: bytes | None, lang: str = "en") -> str:
    """One line for people: which key authenticates the records, or the unkeyed warning."""
    i = 1 if is_zh(lang) else 0
    return UNKEYED_NOTE[i] if key is None else KEYED_NOTE[i].format(key_id=key_id(key))


def entry_digest(entry: dict, key: bytes | None) -> str:
    """The chain digest of an entry: HMAC-SHA256 (with a key) or SHA-256 of its canonical JSON.

    The entry's ``prev_hash`` is part of what is digested, so each digest covers the one before.
    """
    body = canonical_json({k: v for k, v in entry.items() if k != "hash"})
    if key is None:
        return hashlib.sha256(body).hexdigest()
    return hmac.new(key, body, hashlib.sha256).hexdigest()


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
    key : bytes or None, optional
        The audit key (HMAC-SHA256); ``None`` writes an unkeyed log. Default: read from
        ``BENTU_AUDIT_KEY`` / ``BENTU_AUDIT_KEY_FILE`` (see :func:`audit_key`).

    Examples
    --------
    >>> log = AuditLog(run_dir / "audit.jsonl")                     # doctest: +SKIP
    >>> log.append("train", params={"epochs": 3}, outputs={"model": run_dir / "model"})
    """

    def __init__(self, path: Path, *, root: Path | None = None, operator: str | None = None,
                 key: bytes | None = FROM_ENV, fsync: bool = True):
        self.path = Path(path)
        self.fsync = bool(fsync)  # False: each entry is flushed to the OS, not forced to the disk
        self.root = Path(root) if root is not None else self.path.parent
        self.operator = operator or _default_operator()
        self.key = _key(key)

    @property
    def head(self) -> tuple[int, str]:
        """``(seq, hash)`` of the last entry, ``(0, 64 zeros)`` for an empty log."""
        if not self.path.exists():
            return 0, GENESIS_HASH
        with open(self.path, "rb") as fh:
            seq, digest, _ = self._tail(fh)
        return seq, digest

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
                seq, prev, last = self._tail(fh)
                if last is not None:
                    _check_continues(self.path, self.root, last, self.key)
                entry = {
                    "seq": seq + 1,
                    "time": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="microseconds"),
                    **body,
                    **integrity_fields(self.key),
                    "prev_hash": prev,
                }
                entry["hash"] = entry_digest(entry, self.key)
                fh.seek(0, os.SEEK_END)
                fh.write(canonical_json(entry) + b"\n")
                fh.flush()
                if self.fsync:
                    os.fsync(fh.fileno())
            finally:
                if fcntl is not None:
                    fcntl.flock(fh, fcntl.LOCK_UN)
        return entry

    def complete(self, *, params: dict | None = None) -> dict:
        """Append the final ``"complete"`` entry: the SHA-256 of every file under ``root``.

        The pipeline calls this as the very last step before the run directory gets its final
        name; a directory without it is an interrupted run (:func:`require_complete_run`).
        Each file (the log itself excepted) is recorded by its relative path, so editing,
        swapping or deleting any of them is found by :func:`verify_run`.
        """
        own = self.path.resolve()
        files = {}
        for rel, _ in _dir_manifest(self.root):
            full = self.root / rel
            if full.resolve() != own:
                files[rel] = full
        return self.append(COMPLETE_STEP, params={**(params or {}), "files": len(files)}, outputs=files)

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

    def _tail(self, fh) -> tuple[int, str, dict | None]:
        """Read ``(seq, hash, entry)`` of the last line of an open binary file."""
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        if size == 0:
            return 0, GENESIS_HASH, None
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
            return int(entry["seq"]), str(entry["hash"]), entry
        except (ValueError, KeyError, TypeError) as err:
            raise DataError(
                en=f"audit log {self.path}: the last line is not a valid entry; run "
                f"'bentu audit verify {self.root}'.",
                zh=f"审计日志 {self.path}：最后一行不是有效记录；请运行 "
                f"'bentu audit verify {self.root}'。",
            ) from err


def _mode(entry: dict) -> str:
    integrity = entry.get("integrity", UNKEYED)  # logs from before keys are unkeyed
    return f"{KEYED} key id {entry.get('key_id')}" if integrity == KEYED else str(integrity)


def _check_continues(path: Path, root: Path, last: dict, key: bytes | None) -> None:
    """Refuse to extend a chain under another key (or none): the chain must stay uniform."""
    have, want = _mode(last), _mode(integrity_fields(key))
    if have != want:
        raise DataError(
            en=f"audit log {path} was written with integrity '{have}', but this process has "
            f"'{want}'; set the same {KEY_ENV} the log was written with (check it with "
            f"'bentu audit verify {root}').",
            zh=f"审计日志 {path} 的完整性方式为 '{have}'，而当前进程为 '{want}'；请设置写入该日志时"
            f"使用的同一个 {KEY_ENV}（可用 'bentu audit verify {root}' 检查）。",
        )


# ---------------------------------------------------------------------------- verification


@dataclass
class VerifyReport:
    """What :func:`verify_run` (or the decision-log check) found.

    Attributes
    ----------
    ok : bool
        True when the chain is intact and every recorded artifact matches.
    entries : int
        Number of lines in the log.
    problems : list of dict
        ``{"line": int, "step": str or None, "kind": str, "reason": str (English),
        "reason_zh": str}``, sorted by line. ``kind`` is ``"wrong_key"``, ``"no_key"``,
        ``"unkeyed_with_key"`` for key problems, ``"artifact"`` for a changed or missing file,
        else ``"chain"``.
    artifacts : int
        Number of run-directory artifacts re-hashed.
    head : str or None
        The ``hash`` of the last line (the digest to anchor elsewhere), None for an empty log.
    integrity : str or None
        ``"hmac-sha256"`` or ``"unkeyed"`` (of the first entry), None for an empty log.
    key_id : str or None
        The key id the entries were written with (keyed logs).
    complete : bool
        The log has a ``"complete"`` entry (a finished pipeline run).
    """

    ok: bool
    entries: int
    problems: list[dict] = field(default_factory=list)
    artifacts: int = 0
    head: str | None = None
    integrity: str | None = None
    key_id: str | None = None
    complete: bool = False
    parsed: list = field(default_factory=list, repr=False, compare=False)  # (line, entry) pairs

    @property
    def first(self) -> dict | None:
        """The first problem, or None."""
        return self.problems[0] if self.problems else None

    def note(self, lang: str = "en") -> str:
        """The integrity line for people (the unkeyed warning, or the key id)."""
        i = 1 if is_zh(lang) else 0
        if self.integrity == KEYED:
            return KEYED_NOTE[i].format(key_id=self.key_id)
        return UNKEYED_NOTE[i]


def _problem(line: int, msg: tuple[str, str], *, step: Any = None, kind: str = "chain", **kw) -> dict:
    return {"line": line, "step": step if isinstance(step, str) else None, "kind": kind,
            "reason": msg[0].format(**kw), "reason_zh": msg[1].format(**kw)}


def _safe_digest(entry: dict, key: bytes | None) -> str | None:
    try:
        return entry_digest(entry, key)
    except (ValueError, TypeError):  # NaN / Infinity written into a line by hand
        return None


def _key_problem(i: int, entry: dict, key: bytes | None, first_key_id: Any) -> dict | None:
    """A problem when the entry's integrity does not fit the key held now, else None.

    A key id that differs from the first entry's is tampering (keys never change inside a
    log); only a first entry's mismatch is reported as a wrong key.
    """
    integrity, step = entry.get("integrity", UNKEYED), entry.get("step", entry.get("request_id"))
    if i > 1 and integrity == KEYED and first_key_id is not None and entry.get("key_id") != first_key_id:
        return _problem(i, MSG_MIXED_KEYS, step=step, got=entry.get("key_id"), want=first_key_id)
    if integrity == UNKEYED:
        if key is not None:
            return _problem(i, MSG_UNKEYED_WITH_KEY, step=step, kind="unkeyed_with_key")
        return None
    if integrity != KEYED:
        return _problem(i, MSG_INTEGRITY, step=step, got=integrity)
    if key is None:
        return _problem(i, MSG_NO_KEY, step=step, kind="no_key", want=entry.get("key_id"))
    if entry.get("key_id") != key_id(key):
        return _problem(i, MSG_WRONG_KEY, step=step, kind="wrong_key", want=entry.get("key_id"),
                        got=key_id(key))
    return None


def check_chain(
    lines: list[bytes], ends_with_newline: bool, key: bytes | None, required: tuple[str, ...] = _REQUIRED
) -> tuple[list[tuple[int, dict]], list[dict]]:
    """Check a chain of JSON lines; return (parsed entries with their line numbers, problems).

    Each entry must carry ``required`` fields, a ``hash`` equal to :func:`entry_digest` of it
    under ``key``, ``prev_hash`` equal to the line before's ``hash`` (64 zeros first) and
    ``seq`` one more than the line before's. An entry whose ``integrity``/``key_id`` does not fit
    ``key`` is reported as a key problem (wrong key, no key, unkeyed while a key is set) rather
    than as tampering. Shared by the audit log and the decision log.
    """
    problems, entries = [], []
    prev_hash, prev_line, prev_seq = GENESIS_HASH, 0, 0
    first_key_id = None
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
        if i == 1:
            first_key_id = entry.get("key_id")
        step = entry.get("step", entry.get("request_id"))  # a decision log names its request
        missing = [k for k in required if k not in entry]
        if missing:
            problems.append(_problem(i, MSG_FIELDS, step=step, fields=", ".join(missing)))
        elif (bad_key := _key_problem(i, entry, key, first_key_id)) is not None:
            problems.append(bad_key)
        elif _safe_digest(entry, key) != entry["hash"]:
            problems.append(_problem(i, MSG_HASH if key is None else MSG_MAC, step=step))
        elif prev_hash is not None and entry["prev_hash"] != prev_hash:
            msg = MSG_PREV_FIRST if i == 1 else MSG_PREV
            problems.append(_problem(i, msg, step=step, prev=prev_line))
        elif prev_seq is not None and entry["seq"] != prev_seq + 1:
            problems.append(_problem(i, MSG_SEQ, step=step, seq=entry["seq"], want=prev_seq + 1))
        entries.append((i, entry))
        prev_hash, prev_line = entry.get("hash"), i
        prev_seq = entry.get("seq") if isinstance(entry.get("seq"), int) else None
    return entries, problems


def read_chain(path: Path, key: bytes | None, required: tuple[str, ...] = _REQUIRED) -> VerifyReport:
    """Read a JSON-lines chain file and check it (:func:`check_chain`); artifacts are not checked."""
    data = Path(path).read_bytes()
    if not data.strip():
        return VerifyReport(ok=False, entries=0, problems=[_problem(1, MSG_EMPTY, name=Path(path).name)])
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    entries, problems = check_chain(lines, data.endswith(b"\n"), key, required)
    first = entries[0][1] if entries else {}
    last = entries[-1][1] if entries and entries[-1][0] == len(lines) else {}
    report = VerifyReport(
        ok=not problems, entries=len(lines), problems=problems,
        head=last.get("hash") if isinstance(last.get("hash"), str) else None,
        integrity=first.get("integrity", UNKEYED) if first else None, key_id=first.get("key_id"),
        complete=any(e.get("step") == COMPLETE_STEP for _, e in entries), parsed=entries,
    )
    return report


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


def verify_run(run_dir: Path, *, key: bytes | None = FROM_ENV) -> VerifyReport:
    """Check the chain of ``run_dir/audit.jsonl`` and the artifacts it recorded.

    Detects a line that was edited, deleted, inserted, reordered, truncated or appended out of
    chain, and an artifact under ``run_dir`` whose file (or directory manifest) no longer
    matches the hash recorded by the last entry that mentions its path. Artifacts are checked
    only when the chain is intact: a broken log cannot say which recorded hash is the last.
    With an audit key (keyed log) the entries' MACs are checked, so rewriting files and
    recomputing the hashes without the key is found; a wrong key is reported as such.

    This does not require the ``"complete"`` entry (``report.complete`` says whether it is
    there); :func:`require_complete_run` does.

    Parameters
    ----------
    run_dir : Path
        A run directory containing ``audit.jsonl``.
    key : bytes or None, optional
        The audit key; default from ``BENTU_AUDIT_KEY`` / ``BENTU_AUDIT_KEY_FILE``.

    Returns
    -------
    VerifyReport

    Raises
    ------
    DataError
        ``run_dir`` or its ``audit.jsonl`` does not exist.
    ConfigError
        The audit key in the environment is unusable.
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
    report = read_chain(log, _key(key))
    if report.problems:  # a broken log cannot say which hash is the last one; report the break
        return report
    checked, problems = _check_artifacts(report.parsed, run_dir)
    steps = {i: e.get("step") for i, e in report.parsed}
    for p in problems:
        p["step"], p["kind"] = steps.get(p["line"]), "artifact"
    report.ok, report.problems, report.artifacts = not problems, problems, checked
    return report


def require_complete_run(
    run_dir: Path, *, key: bytes | None = FROM_ENV, only_completeness: bool = False
) -> VerifyReport | None:
    """Verify ``run_dir`` and require its ``"complete"`` entry; the gate of serve/compress/monitor.

    Parameters
    ----------
    run_dir : Path
    key : bytes or None, optional
        The audit key; default from the environment.
    only_completeness : bool, default False
        For a caller that reports a missing or broken log itself (``bentu serve``): refuse only a
        readable, intact log without the ``"complete"`` entry, or one made under another key (or
        none); return None when there is no log and the failing report when it is broken.

    Returns
    -------
    VerifyReport
        The (intact, complete) report.

    Raises
    ------
    DataError
        The directory or its log is missing, the log or an artifact fails verification (the
        message names the first bad line and its step), the key is wrong or missing, or the run
        never finished (no ``"complete"`` entry).
    """
    run_dir = Path(run_dir)
    if only_completeness and not (run_dir / AUDIT_FILE).is_file():
        return None
    report = verify_run(run_dir, key=key)
    key_kinds = ("wrong_key", "no_key", "unkeyed_with_key")
    if not report.ok and only_completeness and report.first["kind"] not in key_kinds:
        return report
    if not report.ok:
        p = report.first
        raise DataError(
            en=f"refusing {run_dir}: audit.jsonl line {p['line']} (step {p['step'] or '?'}): "
            f"{p['reason']}. Check it with 'bentu audit verify {run_dir}'.",
            zh=f"拒绝使用 {run_dir}：audit.jsonl 第 {p['line']} 行（步骤 {p['step'] or '?'}）："
            f"{p['reason_zh']}。请用 'bentu audit verify {run_dir}' 检查。",
        )
    if not report.complete:
        raise DataError(
            en=f"refusing {run_dir}: {MSG_INCOMPLETE[0]}. Use a finished run directory, or run "
            "the recipe again.",
            zh=f"拒绝使用 {run_dir}：{MSG_INCOMPLETE[1]}。请使用已完成的运行目录，或重新运行配方。",
        )
    return report
