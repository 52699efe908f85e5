"""``bentu keys``: API keys for ``bentu serve`` (only their SHA-256 is stored)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from bentu.cli._common import err_console, pick_lang, user_errors
from bentu.i18n import is_zh

__all__ = ["app", "new"]

app = typer.Typer(help="API keys for `bentu serve` (the file keeps only SHA-256 hashes).", no_args_is_help=True)


@app.callback()
def _group() -> None:
    """API keys for `bentu serve` (the file keeps only SHA-256 hashes)."""


@app.command()
def new(
    file: Annotated[Path, typer.Argument(help="Keys file to append the new key's SHA-256 to (created with mode 0600).")],
    lang: Annotated[Optional[str], typer.Option(help="Language of the messages: zh or en.")] = None,
) -> None:
    """Create an API key: print it once (the last line) and append only its SHA-256 to FILE."""
    from bentu.inference.serve.auth import add_key

    with user_errors(lang):
        key = add_key(file)
    if is_zh(pick_lang(lang)):
        err_console.print(f"已把新密钥的 SHA-256 追加到 {file}。密钥只显示这一次，请妥善保存：")
    else:
        err_console.print(f"Appended the new key's SHA-256 to {file}. The key is shown only this once; store it safely:")
    typer.echo(key)
