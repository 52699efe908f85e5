"""``bentu pii``: detect, scan and mask Chinese personal information."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from bentu.cli._common import out_console, pick_lang, user_errors
from bentu.errors import DataError
from bentu.i18n import is_zh
from bentu.privacy.stream import detect_parallel, detect_serial

__all__ = ["app", "detect", "scan", "mask"]

app = typer.Typer(
    help="Find and de-identify Chinese personal information (ID, phone, card, USCC, e-mail, IP, "
         "passport, plate, name, address). 查找并去标识化个人信息。",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

LangOpt = Annotated[str | None, typer.Option("--lang", help="Message language: zh or en "
                                             "(default: $BENTU_LANG, else en).")]
EncodingOpt = Annotated[str, typer.Option("--encoding", help="Input encoding (e.g. gb18030).")]

# --- detect ---------------------------------------------------------------------------------

@app.command()
def detect(
    workers: Annotated[int, typer.Option("--workers", "-j", help="Worker processes (0: one per "
                                         "core, at most 2 by default).")] = 0,
    lang: LangOpt = None,
) -> None:
    """JSON Lines on stdin → the same lines with "spans" added, in order, flushed per line.

    Each input line is an object with a "text" field; other fields pass through.  Spans are
    {"start", "end", "type"} with code-point offsets, end exclusive.
    """
    with user_errors(lang):
        stdin, stdout = sys.stdin, sys.stdout
        raw_in = getattr(stdin, "buffer", None)
        try:
            real = raw_in is not None and raw_in.fileno() >= 0
        except (OSError, ValueError, AttributeError):
            real = False
        n = workers if workers > 0 else min(2, os.cpu_count() or 1)
        if real and n > 1 and sys.platform != "win32":
            detect_parallel(raw_in, stdout.buffer, n)
        else:
            detect_serial(raw_in if real else stdin, stdout)


# --- scan -----------------------------------------------------------------------------------

@app.command()
def scan(
    path: Annotated[Path, typer.Argument(help="CSV, TSV, Parquet, JSON Lines or text file.")],
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    encoding: EncodingOpt = "utf-8",
    lang: LangOpt = None,
) -> None:
    """What PII is where: per column for tables, per type for text (never prints values)."""
    from bentu.privacy.masking import scan_file

    with user_errors(lang):
        if fmt not in ("table", "json"):
            raise DataError(f"--format must be 'table' or 'json'. Got {fmt!r} instead.",
                            f"--format 必须是 'table' 或 'json'，实际为 {fmt!r}。")
        result = scan_file(path, encoding=encoding)
        if fmt == "json":
            typer.echo(json.dumps(result, ensure_ascii=False, indent=2))
            return
        _print_scan(result, pick_lang(lang))


def _print_scan(result: dict, lang: str) -> None:
    from rich.table import Table

    zh = is_zh(lang)
    if "columns" in result:
        table = Table(title=f"{result['path']} ({result['rows_scanned']} " + ("行)" if zh else "rows)"))
        for head in (("列", "类别", "依据", "个人信息类型（比例）") if zh else
                     ("column", "class", "by", "PII types (rate)")):
            table.add_column(head)
        for col, info in result["columns"].items():
            types = ", ".join(f"{t} {v['rate']:.0%}" for t, v in info["pii_types"].items())
            table.add_row(col, info["class"], info["reason"], types or "-")
    else:
        table = Table(title=f"{result['path']} ({result['lines_scanned']} " + ("行)" if zh else "lines)"))
        for head in (("类型", "数量", "所在行（前 10 个）") if zh else ("type", "count", "lines (first 10)")):
            table.add_column(head)
        for t, v in sorted(result["types"].items()):
            table.add_row(t, str(v["count"]), ", ".join(map(str, v["lines"])))
    out_console.print(table)


# --- mask -----------------------------------------------------------------------------------

@app.command()
def mask(
    inp: Annotated[Path, typer.Argument(metavar="IN", help="Input file.")],
    out: Annotated[Path, typer.Argument(metavar="OUT", help="Output file (written atomically).")],
    policy: Annotated[Path | None, typer.Option("--policy", help="Policy file (YAML/JSON).")] = None,
    key_env: Annotated[str, typer.Option("--key-env", help="Environment variable holding the "
                                         "pseudonymisation key.")] = "BENTU_PSEUDONYM_KEY",
    key_file: Annotated[Path | None, typer.Option("--key-file", help="File holding the key.")] = None,
    ephemeral_key: Annotated[bool, typer.Option("--ephemeral-key", help="Use a random key "
                             "(pseudonyms will not match any other run).")] = False,
    encoding: EncodingOpt = "utf-8",
    force: Annotated[bool, typer.Option("--force", help="Overwrite OUT if it exists (never IN).")] = False,
    lang: LangOpt = None,
) -> None:
    """De-identify IN into OUT with the policy's operators, streaming, atomically."""
    from bentu.privacy._files import check_input, check_output
    from bentu.privacy.masking import mask_file
    from bentu.privacy.operators import load_key
    from bentu.privacy.policy import load_policy

    with user_errors(lang):
        check_input(inp, encoding)
        check_output(inp, out, force)
        pol = load_policy(policy)
        key = load_key(key_env, key_file, ephemeral=ephemeral_key)
        summary = mask_file(inp, out, policy=pol, key=key, encoding=encoding, overwrite=force)
        zh = is_zh(pick_lang(lang))
        total = sum(sum(v.values()) for v in summary["replaced"].values())
        msg = (f"已写入 {out}：{summary['records']} 条记录，替换 {total} 处个人信息（密钥来源：{key.source}）。"
               if zh else f"Wrote {out}: {summary['records']} records, {total} PII values replaced "
               f"(key: {key.source}).")
        typer.echo(msg, err=True)


if __name__ == "__main__":
    app()
