"""``bentu audit``: check a run's tamper-evident audit log."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from bentu.errors import BentuError
from bentu.i18n import normalize_lang, register, t

__all__ = ["app", "verify"]

app = typer.Typer(
    help="Check a run's audit log (hash chain of every step, artifact hashes).",
    no_args_is_help=True,
)

register(
    {
        "audit.verify.ok": {
            "en": "OK: {path} — {entries} entries, hash chain intact, {artifacts} artifacts match "
            "their recorded SHA-256.",
            "zh": "通过：{path} — {entries} 条记录，哈希链完整，{artifacts} 个产物与记录的 "
            "SHA-256 一致。",
        },
        "audit.verify.broken": {
            "en": "BROKEN: {path} line {line}: {reason}",
            "zh": "已被篡改：{path} 第 {line} 行：{reason}",
        },
        "audit.verify.more": {
            "en": "({n} more problem(s) after it)",
            "zh": "（其后还有 {n} 个问题）",
        },
        "audit.error": {"en": "Error: {message}", "zh": "错误：{message}"},
    }
)


@app.callback()
def _group() -> None:
    """Check a run's audit log (hash chain of every step, artifact hashes)."""


@app.command()
def verify(
    run_dir: Annotated[Path, typer.Argument(help="Run directory containing audit.jsonl.")],
    lang: Annotated[
        str | None,
        typer.Option("--lang", help="Language of the output: zh or en (default: $BENTU_LANG, else en)."),
    ] = None,
) -> None:
    """Verify RUN_DIR/audit.jsonl: exit 0 when intact, 1 when tampered, 2 when unreadable."""
    lang = normalize_lang(lang or os.environ.get("BENTU_LANG") or "en")
    console = Console(highlight=False, soft_wrap=True)
    try:
        from bentu.compliance.audit_log import verify_run  # lazy: keeps `bentu --help` fast

        report = verify_run(run_dir)
    except BentuError as err:
        Console(stderr=True, highlight=False, soft_wrap=True).print(
            t("audit.error", lang, message=err.message(lang)), markup=False
        )
        raise typer.Exit(2) from None
    log = run_dir / "audit.jsonl"
    if report.ok:
        console.print(
            t("audit.verify.ok", lang, path=log, entries=report.entries, artifacts=report.artifacts),
            markup=False,
        )
        return
    first = report.problems[0]
    reason = first["reason_zh"] if lang == "zh" else first["reason"]
    console.print(t("audit.verify.broken", lang, path=log, line=first["line"], reason=reason), markup=False)
    if len(report.problems) > 1:
        console.print(t("audit.verify.more", lang, n=len(report.problems) - 1), markup=False)
    raise typer.Exit(1)
