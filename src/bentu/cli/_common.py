"""Shared pieces of the command line: language choice and clean user errors."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import typer
from rich.console import Console

from bentu.errors import BentuError
from bentu.i18n import normalize_lang

__all__ = ["err_console", "out_console", "user_errors", "pick_lang", "LangOption"]

err_console = Console(stderr=True, highlight=False, soft_wrap=True)
out_console = Console(highlight=False, soft_wrap=True)


def pick_lang(lang: str | None) -> str:
    """``--lang``, else ``BENTU_LANG``, else English."""
    return normalize_lang(lang or os.environ.get("BENTU_LANG") or "en")


@contextlib.contextmanager
def user_errors(lang: str | None) -> Iterator[None]:
    """Turn a :class:`BentuError` into one paragraph on stderr and exit code 2 (no traceback)."""
    try:
        yield
    except BentuError as err:
        label = "错误" if pick_lang(lang) == "zh" else "Error"
        err_console.print(f"[bold red]{label}:[/] {err.message(pick_lang(lang))}", markup=True, highlight=False)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        err_console.print("Interrupted." if pick_lang(lang) == "en" else "已中断。")
        raise typer.Exit(130) from None
