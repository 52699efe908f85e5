"""The PII detection stream behind ``bentu pii detect``: JSON Lines in, the same lines with
``"spans"`` out, in input order, flushed as soon as each is ready.

:func:`detect_serial` runs in one process; :func:`detect_parallel` sends blocks of whatever lines
are waiting to forked worker processes that share the detectors loaded once before the fork.
A bad line stops the stream with a :class:`bentu.errors.DataError` naming its line number,
after every line before it has been written.
"""

from __future__ import annotations

import collections
import io
import json
import queue
import threading

from bentu.errors import DataError

__all__ = ["detect_serial", "detect_parallel"]

_BATCH_MAX = 512


def _bad_line(n: int, why_en: str, why_zh: str) -> DataError:
    return DataError(
        f"Line {n} of the input {why_en}. Each line must be a JSON object with a \"text\" "
        f"string, e.g. {{\"text\": \"张三 13800138000\"}}.",
        f"输入第 {n} 行{why_zh}。每行必须是含 \"text\" 字符串的 JSON 对象，例如 "
        f"{{\"text\": \"张三 13800138000\"}}。")


def _split_lines(blob: bytes) -> list[bytes]:
    """The lines of ``blob`` without their ``\\n`` (a final line may lack one)."""
    lines = blob.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    return lines


def _process_blob(blob: bytes, first: int) -> tuple[bytes, tuple | None]:
    """:func:`_process` for a block of input lines, in batches; one UTF-8 blob back (the
    unit of work of the worker processes: little to pickle, nothing per line in the parent)."""
    lines = _split_lines(blob)
    out: list[str] = []
    for start in range(0, len(lines), _BATCH_MAX):
        part, error = _process(lines[start:start + _BATCH_MAX], first + start)
        out.extend(part)
        if error:
            return "".join(out).encode("utf-8"), error
    return "".join(out).encode("utf-8"), None


_scan_json = json.decoder.JSONDecoder().scan_once  # one JSON value at an index, no wrapper
_ASCII_WS = " \t\n\r\x0b\x0c"  # what bytes.strip() removes


def _parse_line(raw) -> tuple[str, object]:
    """``(line as str, parsed value)``; raises ``ValueError`` when the line is not JSON.

    The fast path (one decode, the C scanner) accepts exactly what ``json.loads`` accepts
    on a UTF-8 line; anything else goes to ``json.loads`` itself (a UTF-8 BOM, UTF-16 ...).
    """
    if isinstance(raw, bytes):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            line = None
    else:
        line = raw
    if line is not None:
        stripped = line.strip(_ASCII_WS)
        try:
            obj, end = _scan_json(stripped, 0)
            if end == len(stripped):
                return line, obj
        except (StopIteration, ValueError):
            pass
    obj = json.loads(raw.strip())  # the reference behaviour; raises ValueError
    return (raw.decode("utf-8") if isinstance(raw, bytes) else raw), obj


def _process(lines: list[bytes], first: int) -> tuple[list[str], tuple | None]:
    """Detect PII in a batch of protocol lines; stops at the first bad line."""
    from bentu.privacy.detectors import _default_engine

    detect_batch = _default_engine()._detect_batch  # (start, end, type) tuples, not Spans

    objs, texts, strs = [], [], []
    error = None
    scan, ws = _scan_json, _ASCII_WS
    for i, raw in enumerate(lines):
        try:  # the common case, inline: a UTF-8 line holding one JSON object with a "text"
            line = raw.decode("utf-8")
            stripped = line.strip(ws)
            obj, end = scan(stripped, 0)
            if end != len(stripped) or type(obj) is not dict or type(obj.get("text")) is not str:
                raise ValueError
        except (UnicodeDecodeError, StopIteration, ValueError, AttributeError):
            if not raw.strip():
                objs.append(None)
                strs.append(None)
                continue
            try:
                line, obj = _parse_line(raw)
            except ValueError:
                error = (first + i, "json")
                break
            if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
                error = (first + i, "text")
                break
        objs.append(obj)
        strs.append(line)
        texts.append(obj["text"])
    results = iter(detect_batch(texts)) if texts else iter(())
    out = []
    append = out.append
    for line, obj in zip(strs, objs):
        if obj is None:
            append("\n")
            continue
        spans = next(results)
        body = line.rstrip()
        if body.endswith("}") and '"spans"' not in body:
            # Pass the other fields through exactly as written; append the spans.
            inner = ",".join([f'{{"start": {s}, "end": {e}, "type": "{t}"}}' for s, e, t in spans])
            append(f'{body[:-1].rstrip()}, "spans": [{inner}]}}\n')
        else:
            obj["spans"] = [{"start": s, "end": e, "type": t} for s, e, t in spans]
            append(json.dumps(obj, ensure_ascii=False) + "\n")
    return out, error


def _raise_for(error: tuple) -> None:
    n, kind = error
    if kind == "json":
        raise _bad_line(n, "is not valid JSON", "不是有效的 JSON")
    raise _bad_line(n, "has no \"text\" string", "缺少 \"text\" 字符串")


def _warm() -> None:
    """Compile the regexes and load the word list before forking, so that workers share them."""
    import gc

    from bentu.privacy import _person, detectors

    detectors.detect("张伟先生的手机13800138000")
    _person._freq()
    gc.freeze()  # what is loaded now is never garbage: don't scan it, don't copy it on write


def detect_serial(stdin, stdout) -> None:
    """One process.  A binary stdin is read in blocks of whatever is waiting (one read: an
    interactive caller's line is answered at once) and the lines in hand are processed and
    written together, flushed before the next read; a text stdin is read line by line."""
    if not hasattr(stdin, "read1") or isinstance(stdin, io.TextIOBase):
        for n, raw in enumerate(stdin, 1):
            out, error = _process([raw], n)
            stdout.write("".join(out))
            stdout.flush()
            if error:
                _raise_for(error)
        return
    n = 1
    for blob in _blocks(stdin):
        out, error = _process_blob(blob, n)
        n += blob.count(b"\n") + (not blob.endswith(b"\n"))
        stdout.write(out.decode("utf-8"))
        stdout.flush()
        if error:
            _raise_for(error)


_READ_SIZE = 1 << 16
_BLOCK_BYTES = 1 << 17  # input per task of a worker process: a few hundred lines


def _blocks(stdin):
    """Yield blocks of complete lines from a binary stream: whatever one read returned (so
    that a waiting interactive caller's line comes at once and a pipe's lines in large
    blocks), then a last line without its newline if there is one."""
    rest = bytearray()  # a line longer than one read grows here without copying it each time
    while True:
        chunk = stdin.read1(_READ_SIZE)
        if not chunk:
            break
        cut = chunk.rfind(b"\n") + 1
        if cut:
            yield bytes(rest) + chunk[:cut] if rest else chunk[:cut]
            rest = bytearray(chunk[cut:])
        else:
            rest += chunk
    if rest:
        yield bytes(rest)


def _reader(stdin, q: queue.Queue) -> None:
    """Put the blocks of :func:`_blocks` on ``q``, then ``None``."""
    for blob in _blocks(stdin):
        q.put(blob)
    q.put(None)


def detect_parallel(stdin, stdout, workers: int) -> None:
    """Blocks of whatever lines are already waiting go to worker processes; results are
    written in input order and flushed as soon as they are ready, so an interactive caller
    gets each answer as soon as its line is processed."""
    import multiprocessing as mp

    _warm()  # load dictionaries once, before forking, so that workers share them
    q: queue.Queue = queue.Queue(maxsize=workers * 8)
    pending: collections.deque = collections.deque()
    n, done = 1, False
    # Fork the workers before the reader thread starts: a child forked while that thread holds
    # stdin's lock would hang when multiprocessing closes stdin in the child.
    with mp.get_context("fork").Pool(workers) as pool:
        threading.Thread(target=_reader, args=(stdin, q), daemon=True).start()
        while not (done and not pending):
            blocks: list = []
            size = 0
            if not done and len(pending) < 2 * workers:
                if not pending:
                    item = q.get()  # nothing in flight: wait for input
                    if item is None:
                        done = True
                    else:
                        blocks.append(item)
                        size = len(item)
                while not done and size < _BLOCK_BYTES:
                    try:
                        item = q.get_nowait()
                    except queue.Empty:
                        break
                    if item is None:
                        done = True
                    else:
                        blocks.append(item)
                        size += len(item)
                if blocks:
                    blob = b"".join(blocks)
                    pending.append(pool.apply_async(_process_blob, (blob, n)))
                    n += blob.count(b"\n") + (not blob.endswith(b"\n"))
            if not pending:
                continue
            if not blocks:
                pending[0].wait(None if done or len(pending) >= 2 * workers else 0.005)
            while pending and pending[0].ready():
                blob, error = pending.popleft().get()
                stdout.write(blob)
                stdout.flush()
                if error:
                    _raise_for(error)
