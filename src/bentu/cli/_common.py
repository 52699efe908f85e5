"""Shared pieces of the command line: language choice and clean user errors."""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import typer
from rich.console import Console

from bentu.errors import BentuError
from bentu.i18n import is_zh, normalize_lang

__all__ = ["err_console", "out_console", "user_errors", "pick_lang", "LangOption", "os_error", "encoding_error",
           "check_new_output", "write_text_atomic"]

err_console = Console(stderr=True, highlight=False, soft_wrap=True)
out_console = Console(highlight=False, soft_wrap=True)


def pick_lang(lang: str | None) -> str:
    """``--lang``, else ``BENTU_LANG``, else English."""
    return normalize_lang(lang or os.environ.get("BENTU_LANG") or "en")


# What an operating-system error on a path means for the user, per errno (en, zh).
_ERRNO_TEXT = {
    errno.ENOENT: ("no such file or directory (or its folder does not exist)", "文件或目录不存在（或其所在文件夹不存在）"),
    errno.EACCES: ("permission denied", "权限不足"),
    errno.EPERM: ("operation not permitted", "不允许该操作"),
    errno.EISDIR: ("it is a directory, not a file", "它是目录，而不是文件"),
    errno.ENOTDIR: ("a part of the path is a file, not a directory", "路径中的某一部分是文件而不是目录"),
    errno.EEXIST: ("a file or directory of that name already exists", "同名的文件或目录已存在"),
    errno.EROFS: ("the file system is read-only", "文件系统为只读"),
    errno.ENOSPC: ("no space left on the device", "设备空间不足"),
    errno.ENAMETOOLONG: ("the name is too long", "名称过长"),
    errno.ELOOP: ("too many levels of symbolic links", "符号链接层级过多"),
    errno.EINVAL: ("the path is not valid here", "该路径在此处无效"),
}


def os_error(err: OSError) -> BentuError:
    """The user error for an :class:`OSError` on a named path (cannot read, write or create it)."""
    path = err.filename if err.filename2 is None else f"{err.filename} -> {err.filename2}"
    en, zh = _ERRNO_TEXT.get(err.errno, (err.strerror or str(err), err.strerror or str(err)))
    return BentuError(
        f"Cannot read, write or create '{path}': {en}. Check the path and its permissions, "
        "or choose another path.",
        f"无法读取、写入或创建 '{path}'：{zh}。请检查该路径及其权限，或换一个路径。",
    )


def encoding_error(err: LookupError) -> BentuError:
    """The user error for an unknown text encoding (``--encoding bogus``)."""
    name = str(err).partition(":")[2].strip() or str(err)
    return BentuError(
        f"Unknown text encoding {name!r} (--encoding). Use a Python codec name such as utf-8, "
        "gb18030 or gbk.",
        f"未知的文本编码 {name!r}（--encoding）。请使用 Python 编码名称，例如 utf-8、gb18030 或 gbk。",
    )


@contextlib.contextmanager
def user_errors(lang: str | None) -> Iterator[None]:
    """Turn a user error into one paragraph on stderr and exit code 2 (no traceback).

    User errors are :class:`BentuError`, an :class:`OSError` on a named path (a folder that is
    a file, ``/proc``, no permission, a full disk) and an unknown text encoding; anything else
    is a bug and keeps its traceback.
    """
    try:
        try:
            yield
        except OSError as err:
            if err.filename is None:  # not about a path the user gave: a bug, keep the traceback
                raise
            raise os_error(err) from err
        except LookupError as err:
            if not str(err).startswith("unknown encoding"):
                raise
            raise encoding_error(err) from err
    except BentuError as err:
        label = "错误" if is_zh(pick_lang(lang)) else "Error"
        err_console.print(f"[bold red]{label}:[/] {err.message(pick_lang(lang))}", markup=True, highlight=False)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        err_console.print("Interrupted." if pick_lang(lang) == "en" else "已中断。")
        raise typer.Exit(130) from None


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def check_new_output(out: Path, inputs: Iterable[Path], option: str, force: bool = False) -> None:
    """Refuse an output path that is (or is inside) one of the command's ``inputs``, a
    directory, or an existing file (unless ``force``) — before any work is done.

    Raises
    ------
    BentuError
        Naming ``option`` (e.g. ``--out``) and the path.
    """
    for inp in inputs:
        same = _inside(out, inp) if inp.is_dir() else out.resolve() == inp.resolve()
        if not same and out.exists() and inp.exists():
            with contextlib.suppress(OSError):
                same = os.path.samefile(out, inp)
        if same:
            raise BentuError(
                f"{option} {out} would overwrite the command's input {inp}. Give another path.",
                f"{option} {out} 会覆盖命令的输入 {inp}。请换一个路径。",
            )
    if out.is_dir():
        raise BentuError(
            f"{option} {out} is a directory; give the path of a file to write.",
            f"{option} {out} 是目录；请给出要写入的文件路径。",
        )
    if out.exists() and not force:
        raise BentuError(
            f"{option} {out} already exists, and bentu does not overwrite a file it did not create: "
            "remove it, give another path, or pass --force.",
            f"{option} {out} 已存在，bentu 不会覆盖并非由它创建的文件：请删除它、换一个路径，或使用 --force。",
        )
