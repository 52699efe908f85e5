"""File handling for the pii commands: encoding checks, streaming readers, atomic output."""

from __future__ import annotations

import codecs
import contextlib
import os
from pathlib import Path

from bentu.errors import DataError

_PROBE = 1 << 16
TABLE_SUFFIXES = (".csv", ".tsv", ".parquet", ".pq", ".jsonl", ".ndjson")


def check_input(path: Path, encoding: str = "utf-8") -> None:
    """Fail clearly on a missing, binary, or non-UTF-8 file (GBK/GB18030 is recognised)."""
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise DataError(
            f"Unknown text encoding {encoding!r} (--encoding). Use a Python codec name such as "
            "utf-8, gb18030 or gbk.",
            f"未知的文本编码 {encoding!r}（--encoding）。请使用 Python 编码名称，例如 utf-8、gb18030 或 gbk。") from None
    if not path.exists():
        raise DataError(f"Input file '{path}' does not exist.", f"输入文件 '{path}' 不存在。")
    if path.is_dir():
        raise DataError(f"Input '{path}' is a directory; give a file.", f"输入 '{path}' 是目录，请给出文件。")
    if path.suffix.lower() in (".parquet", ".pq"):
        with path.open("rb") as fh:
            if fh.read(4) != b"PAR1":
                raise DataError(f"File '{path}' is not a Parquet file (no PAR1 header).",
                                f"文件 '{path}' 不是 Parquet 文件（缺少 PAR1 文件头）。")
        return
    with path.open("rb") as fh:
        head = fh.read(_PROBE)
    if encoding.lower().replace("-", "") not in ("utf8", "utf8sig"):
        return
    if b"\x00" in head:
        raise DataError(
            f"File '{path}' is binary, not text (it contains NUL bytes). bentu pii reads UTF-8 "
            "text, CSV, JSON Lines or Parquet.",
            f"文件 '{path}' 是二进制文件而非文本（含 NUL 字节）。bentu pii 读取 UTF-8 文本、CSV、"
            "JSON Lines 或 Parquet。")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as err:
        if err.start >= len(head) - 4:  # a character cut by the probe boundary
            return
        raise not_utf8(path, head, err.start) from None


def not_utf8(path, data: bytes, offset: int) -> DataError:
    """The error for bytes that are not UTF-8, naming GBK/GB18030 when they decode as such."""
    try:
        data.decode("gb18030")
        gb = True
    except UnicodeDecodeError:
        gb = False
    if gb:
        return DataError(
            f"File '{path}' is not UTF-8: it looks like GBK/GB18030 (byte {offset}). Convert it "
            f"with `iconv -f GB18030 -t UTF-8 '{path}' > out.txt`, or pass --encoding gb18030.",
            f"文件 '{path}' 不是 UTF-8 编码：看起来是 GBK/GB18030（第 {offset} 字节）。请用 "
            f"`iconv -f GB18030 -t UTF-8 '{path}' > out.txt` 转换，或使用 --encoding gb18030。")
    return DataError(
        f"File '{path}' is not UTF-8 text (invalid byte at {offset}) and not GBK/GB18030 either. "
        "Convert it to UTF-8 first.",
        f"文件 '{path}' 不是 UTF-8 文本（第 {offset} 字节无效），也不是 GBK/GB18030。请先转换为 UTF-8。")


def check_output(inp: Path, out: Path, overwrite: bool = False) -> None:
    """Refuse to write over the input (same path, or the same file through a link), and over
    any existing file unless ``overwrite``."""
    same = inp.resolve() == out.resolve()
    if not same and out.exists():
        with contextlib.suppress(OSError):
            same = os.path.samefile(inp, out)
    if same:
        raise DataError(
            f"The output path '{out}' is the input file. bentu pii mask never writes over its "
            "input; give another output path.",
            f"输出路径 '{out}' 就是输入文件。bentu pii mask 不会覆盖输入文件，请指定其他输出路径。")
    if out.is_dir():
        raise DataError(f"The output path '{out}' is a directory; give a file path.",
                        f"输出路径 '{out}' 是目录，请给出文件路径。")
    if out.exists() and not overwrite:
        raise DataError(
            f"The output file '{out}' already exists. bentu pii mask does not overwrite a file it "
            "did not create: remove it, give another path, or pass --force.",
            f"输出文件 '{out}' 已存在。bentu pii mask 不会覆盖并非由它创建的文件：请删除它、换一个路径，"
            "或使用 --force。")
    if not out.parent.exists():
        raise DataError(f"The output directory '{out.parent}' does not exist.",
                        f"输出目录 '{out.parent}' 不存在。")
