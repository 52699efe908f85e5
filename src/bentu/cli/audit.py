"""``bentu audit``: check a run's audit log and a server's decision log.

``bentu audit verify RUN_DIR [--expect-head HEX]`` and ``bentu audit verify-decisions LOG
[--expect-head HEX]``. Exit codes: 0 intact (and, for a run, complete); 1 the check failed
(an edited, missing or reordered record, a changed artifact, a wrong or missing key, an
incomplete run, or a head other than ``--expect-head``); 2 the input cannot be read at all (no
such directory or file, an unusable key setting).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from bentu.errors import BentuError, ConfigError
from bentu.i18n import is_zh, normalize_lang, register, t

if TYPE_CHECKING:  # the audit log pulls in pandas: imported when a command runs, so `bentu --help` stays fast
    from bentu.compliance.audit_log import VerifyReport

__all__ = ["app", "verify", "verify_decisions"]

app = typer.Typer(
    help="Check a run's audit log, or a server's decision log (keyed hash chain, artifact hashes).",
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
        "audit.decisions.ok": {
            "en": "OK: {path} — {entries} decisions, hash chain intact.",
            "zh": "通过：{path} — {entries} 条决策记录，哈希链完整。",
        },
        "audit.verify.broken": {
            "en": "BROKEN: {path} line {line} ({label} {step}): {reason}",
            "zh": "已被篡改：{path} 第 {line} 行（{label_zh} {step}）：{reason}",
        },
        "audit.verify.wrong_key": {
            "en": "WRONG KEY: {path} line {line} ({label} {step}): {reason}",
            "zh": "密钥不符：{path} 第 {line} 行（{label_zh} {step}）：{reason}",
        },
        "audit.verify.incomplete": {
            "en": "INCOMPLETE: {path}: {reason}",
            "zh": "不完整：{path}：{reason}",
        },
        "audit.verify.more": {
            "en": "({n} more problem(s) after it)",
            "zh": "（其后还有 {n} 个问题）",
        },
        "audit.verify.head": {"en": "head: {head}", "zh": "链头摘要：{head}"},
        "audit.verify.head_mismatch": {
            "en": "HEAD MISMATCH: the head digest is {head}, but --expect-head is {want} (records "
            "were cut from the end, added, or this is another log).",
            "zh": "链头不符：链头摘要为 {head}，而 --expect-head 为 {want}（末尾的记录被删除、"
            "有记录被追加，或这是另一份日志）。",
        },
        "audit.error": {"en": "Error: {message}", "zh": "错误：{message}"},
    }
)

_HEX = re.compile(r"[0-9a-f]{64}")

LangOption = Annotated[
    str | None,
    typer.Option("--lang", help="Language of the output: zh or en (default: $BENTU_LANG, else en)."),
]
HeadOption = Annotated[
    str | None,
    typer.Option("--expect-head", help="Fail unless the last record's digest is this (64 hex digits)."),
]


@app.callback()
def _group() -> None:
    """Check a run's audit log, or a server's decision log."""


def _expected(value: str | None) -> str | None:
    if value is None:
        return None
    want = value.strip().lower()
    if not _HEX.fullmatch(want):
        raise ConfigError(
            f"--expect-head must be 64 hexadecimal digits (as printed after 'head:'). Got {value!r} "
            "instead.",
            f"--expect-head 必须是 64 位十六进制数字（即 'head:' 后打印的值），实际为 {value!r}。",
        )
    return want


def _report(path: Path, report: VerifyReport, ok_text: str, lang: str, want: str | None,
            need_complete: bool) -> None:
    label, label_zh = ("step", "步骤") if need_complete else ("request", "请求")
    """Print the outcome (integrity note, head digest) and exit 1 on any failure."""
    console = Console(highlight=False, soft_wrap=True)
    zh = is_zh(lang)
    if not report.ok:
        first = report.problems[0]
        key = "audit.verify.wrong_key" if first["kind"] in ("wrong_key", "no_key") else "audit.verify.broken"
        console.print(t(key, lang, path=path, line=first["line"], step=first["step"] or "?", label=label, label_zh=label_zh,
                        reason=first["reason_zh"] if zh else first["reason"]), markup=False)
        if len(report.problems) > 1:
            console.print(t("audit.verify.more", lang, n=len(report.problems) - 1), markup=False)
        raise typer.Exit(1)
    if need_complete and not report.complete:
        from bentu.compliance.audit_log import MSG_INCOMPLETE

        console.print(t("audit.verify.incomplete", lang, path=path, reason=MSG_INCOMPLETE[1 if zh else 0]),
                      markup=False)
        raise typer.Exit(1)
    if want is not None and report.head != want:
        console.print(t("audit.verify.head_mismatch", lang, head=report.head, want=want), markup=False)
        raise typer.Exit(1)
    console.print(ok_text, markup=False)
    console.print(report.note(lang), markup=False)
    console.print(t("audit.verify.head", lang, head=report.head), markup=False)


def _fail(err: BentuError, lang: str) -> None:
    Console(stderr=True, highlight=False, soft_wrap=True).print(
        t("audit.error", lang, message=err.message(lang)), markup=False
    )
    raise typer.Exit(2) from None


@app.command()
def verify(
    run_dir: Annotated[Path, typer.Argument(help="Run directory containing audit.jsonl.")],
    expect_head: HeadOption = None,
    lang: LangOption = None,
) -> None:
    """Verify RUN_DIR: chain, MACs (with BENTU_AUDIT_KEY), artifacts and the final 'complete' record.

    Prints the head digest to anchor elsewhere. Exit 0 when intact and complete; 1 when a record
    or artifact fails (the first bad line and its step are named), the key is wrong or missing,
    the run is incomplete, or the head differs from --expect-head; 2 when RUN_DIR cannot be read.
    """
    from bentu.compliance.audit_log import verify_run

    _verify(lambda: verify_run(run_dir), run_dir / "audit.jsonl", "audit.verify.ok", expect_head, lang,
            need_complete=True)


def _verify(check, log: Path, ok_key: str, expect_head: str | None, lang: str | None, *, need_complete: bool) -> None:
    """Run ``check`` (a verifier returning a report), print the verdict and exit with its code."""
    lang = normalize_lang(lang or os.environ.get("BENTU_LANG") or "en")
    try:
        want = _expected(expect_head)
        report = check()
    except BentuError as err:
        _fail(err, lang)
    ok = t(ok_key, lang, path=log, entries=report.entries, artifacts=getattr(report, "artifacts", 0))
    _report(log, report, ok, lang, want, need_complete=need_complete)


@app.command("verify-decisions")
def verify_decisions(
    log: Annotated[Path, typer.Argument(help="A decision log written by `bentu serve` (decisions.jsonl).")],
    expect_head: HeadOption = None,
    lang: LangOption = None,
) -> None:
    """Verify a server's decision log: chain and MACs (with BENTU_AUDIT_KEY); print the head digest.

    Exit 0 when intact; 1 when a line fails (named), the key is wrong or missing, or the head
    differs from --expect-head; 2 when LOG cannot be read.
    """
    from bentu.inference.serve.decision_log import check_decision_log

    _verify(lambda: check_decision_log(log), log, "audit.decisions.ok", expect_head, lang, need_complete=False)
