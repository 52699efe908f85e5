"""The composition root: runs a recipe through the layers and writes the run directory.

A run directory is built under a temporary hidden name (``.<name>.partial-<id>``) beside its
final place. Its last step is the audit log's authenticated ``"complete"`` entry, which records
the SHA-256 of every file; then the directory is renamed to its final name. So:

- a failed or interrupted run leaves nothing that looks complete: an exception, Ctrl-C and
  SIGTERM remove the partial directory (:class:`Interrupted` carries the signal); a SIGKILL
  leaves it, without a ``complete`` entry, so ``bentu audit verify``, ``serve``, ``compress``
  and ``monitor`` refuse it. The next ``bentu run`` into the same folder removes partial
  directories whose owning process (``.partial-owner.json``: pid and host) is dead.
- no run ever replaces another: the final rename goes onto a name that does not exist (an
  ``--out`` given empty is the one exception) and on a clash takes the next free name
  (``-2``, ``-3``, …); the kernel's ``rename`` decides, not a check made earlier.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import importlib
import itertools
import json
import logging
import os
import shutil
import signal
import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import yaml

from bentu.compliance.audit_log import audit_key, integrity_note
from bentu.errors import ConfigError, DataError
from bentu.i18n import is_zh, normalize_lang
from bentu.pipeline._context import RunContext
from bentu.recipe import Recipe, default_data_root, recipe_to_dict
from bentu.report.builder import Report

__all__ = ["run_recipe", "RunContext", "APPLICATIONS", "Interrupted", "clean_stale_partials"]

log = logging.getLogger(__name__)

APPLICATIONS = {"credit": "bentu.pipeline.credit", "imaging": "bentu.pipeline.imaging", "learning": "bentu.pipeline.learning",
                "llm_tuning": "bentu.pipeline.llm_tuning"}


def _final_dir(name: str, out: Path | None, runs_root: Path) -> Path:
    if out is not None:
        out = Path(out)
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise DataError(
                f"Output directory {out} already exists and is not empty; bentu never overwrites a run. "
                "Choose a new --out, or leave --out out to get a new timestamped folder under runs/.",
                f"输出目录 {out} 已存在且不为空；bentu 从不覆盖已有的运行。请换一个 --out，"
                "或不指定 --out 以在 runs/ 下新建带时间戳的目录。",
            )
        return out
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    final = runs_root / f"{name}-{stamp}"
    n = 2
    while final.exists():
        final = runs_root / f"{name}-{stamp}-{n}"
        n += 1
    return final


OWNER_FILE = ".partial-owner.json"
_PARTIAL = ".partial-"


class Interrupted(KeyboardInterrupt):
    """The run was stopped by a signal (SIGINT or SIGTERM); ``signum`` says which."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = int(signum)

    @property
    def exit_code(self) -> int:
        """The shell's exit code for this signal: 128 + signal number (130, 143)."""
        return 128 + self.signum


class _Stop:
    """The signals a run received; ``check()`` raises :class:`Interrupted` if one did."""

    def __init__(self) -> None:
        self.fired: list[int] = []
        self.published = False  # from here on a signal no longer undoes the run: it is complete and kept

    def check(self) -> None:
        if self.fired and not self.published:
            raise Interrupted(self.fired[0])

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """SIGINT/SIGTERM wait (blocked, not lost) until the block ends: nothing stops a rename half-way."""
        sigs = {signal.SIGINT, signal.SIGTERM}
        can = hasattr(signal, "pthread_sigmask") and threading.current_thread() is threading.main_thread()
        if can:
            signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
        try:
            yield
        finally:
            if can:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, sigs)


@contextlib.contextmanager
def _signals_as_interrupt() -> Iterator[_Stop]:
    """Raise :class:`Interrupted` on SIGINT/SIGTERM (once; later signals wait for the cleanup).

    The exception can be swallowed by a library (a bare ``except:`` around a callback, a retry loop);
    the run calls ``check()`` before it publishes, so a stop that was asked for is still a stop.
    """
    stop = _Stop()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum, frame):
        if stop.fired or stop.published:  # already stopping (let the cleanup finish), or already complete
            stop.fired.append(signum)
            return
        stop.fired.append(signum)
        raise Interrupted(signum)

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    except Interrupted:
        raise
    except BaseException as err:
        # The signal's exception can surface as another one: raised inside a C extension's import
        # (onnxruntime turns it into "ImportError: initialization failed") or caught and re-raised
        # by a library. A stop that was asked for is still a stop.
        if stop.fired and not stop.published:
            raise Interrupted(stop.fired[0]) from err
        raise
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    stop.check()  # swallowed on the way and the body returned: still a stop


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def clean_stale_partials(folder: Path) -> list[Path]:
    """Remove ``.*.partial-*`` run directories in ``folder`` left by a dead ``bentu run``.

    Only a directory whose ``.partial-owner.json`` names this host and a process that no longer
    exists is removed (e.g. after a SIGKILL or a power cut); a running run's, another host's or
    one without an owner file is left alone. Returns the removed paths.
    """
    removed = []
    try:
        candidates = [p for p in Path(folder).iterdir() if p.name.startswith(".") and _PARTIAL in p.name]
    except OSError:
        return removed
    host = socket.gethostname()
    for path in candidates:
        try:
            owner = json.loads((path / OWNER_FILE).read_text(encoding="utf-8"))
            pid, owner_host = int(owner["pid"]), str(owner["host"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if owner_host != host or pid == os.getpid() or _pid_alive(pid):
            continue
        shutil.rmtree(path, ignore_errors=True)
        if not path.exists():
            log.warning("removed %s, left by an interrupted run (process %d no longer exists)", path, pid)
            removed.append(path)
    return removed


def _publish(tmp: Path, final: Path) -> Path:
    """Rename ``tmp`` to ``final``, or to ``final-2``, ``final-3``, … when that name is taken.

    ``os.rename`` onto a missing path (or an empty directory) is atomic; onto a non-empty
    directory or a file it fails, and the next name is tried, so another run's finished
    directory is never deleted or replaced.
    """
    for n in itertools.count(1):
        target = final if n == 1 else final.with_name(f"{final.name}-{n}")
        try:
            os.rename(tmp, target)
        except OSError as err:
            if err.errno in (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR, errno.EISDIR) and n < 1000:
                continue
            raise DataError(
                f"cannot move the finished run {tmp} to {target}: {err.strerror or err}.",
                f"无法把已完成的运行 {tmp} 移动到 {target}：{err.strerror or err}。",
            ) from err
        if n > 1:
            log.warning("%s already exists; this run was written to %s instead", final, target)
        return target
    raise AssertionError("unreachable")  # pragma: no cover


def _resolve_data(data: Path | None) -> tuple[Path | None, Path | None]:
    if data is None:
        return default_data_root(), None
    data = Path(data)
    if not data.exists():
        raise DataError(
            f"--data {data} does not exist. Give a data file, or the folder that holds the datasets "
            "(e.g. ../shared/data).",
            f"--data {data} 不存在。请给出数据文件，或存放数据集的目录（例如 ../shared/data）。",
        )
    return (data, None) if data.is_dir() else (default_data_root(), data)


def _title(recipe: Recipe, lang: str) -> tuple[str, str]:
    titles = {
        "credit": ("Credit risk model report", "信用风险模型报告"),
        "imaging": ("Medical image diagnosis model report", "医学影像诊断模型报告"),
        "learning": ("Knowledge tracing and recommendation report", "知识追踪与练习推荐报告"),
        "llm_tuning": ("Language model tuning report", "大语言模型微调报告"),
    }
    en, zh = titles[recipe.application]
    desc = recipe.description
    if desc is not None and not isinstance(desc, str):
        desc = desc.zh if is_zh(lang) else desc.en
    return (zh if is_zh(lang) else en), desc or recipe.name


def _cannot_create(final: Path, err: OSError) -> DataError:
    return DataError(
        f"Cannot create the run directory {final}: {err.strerror or err} (in {final.parent}). "
        "Choose an --out in a folder you can write to.",
        f"无法创建运行目录 {final}：{err.strerror or err}（位于 {final.parent}）。请把 --out 设在有写权限的目录下。",
    )


def run_recipe(
    recipe: Recipe,
    *,
    out: Path | None = None,
    data: Path | None = None,
    lang: str | None = None,
    progress: bool = True,
    runs_root: Path = Path("runs"),
) -> Path:
    """Run ``recipe`` end to end and return the finished run directory.

    Parameters
    ----------
    out : Path, optional
        Exactly this directory (must not exist or be empty); default ``runs/<name>-<time>/``.
    data : Path, optional
        A data file, or the folder of datasets (default ``BENTU_DATA`` or ``../shared/data``).
    lang : {"zh", "en"}, optional
        Language of the report; default from the recipe's locale.
    """
    if recipe.application not in APPLICATIONS:  # application llm: the gateway and the assessment have their own commands
        raise ConfigError(
            f"Recipe {recipe.name!r} is for application {recipe.application!r}, which 'bentu run' does not run: use "
            f"'bentu llm eval --recipe {recipe.name}' or 'bentu llm serve --recipe {recipe.name}'.",
            f"配方 {recipe.name!r} 的应用为 {recipe.application!r}，'bentu run' 不运行它：请使用 "
            f"'bentu llm eval --recipe {recipe.name}' 或 'bentu llm serve --recipe {recipe.name}'。")
    lang = normalize_lang(lang or recipe.locale.language)
    data_root, data_path = _resolve_data(data)
    key = audit_key()  # an unusable key setting fails before anything is written
    final = _final_dir(recipe.name, out, Path(runs_root))
    created_parent = not final.parent.exists()
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise _cannot_create(final, err) from err
    clean_stale_partials(final.parent)
    with _signals_as_interrupt() as stop:
        tmp = final.parent / f".{final.name}{_PARTIAL}{uuid.uuid4().hex[:8]}"
        try:
            try:
                tmp.mkdir()
            except OSError as err:  # named by the path the user gave, not by the hidden working name
                raise _cannot_create(final, err) from err
            (tmp / OWNER_FILE).write_text(json.dumps(
                {"pid": os.getpid(), "host": socket.gethostname(), "started": dt.datetime.now(dt.timezone.utc).isoformat()}
            ), encoding="utf-8")
            _run_in(tmp, recipe, lang=lang, data_root=data_root, data_path=data_path, progress=progress, key=key)
            with stop.held():  # a signal now waits until the run is published (then it is complete and kept)
                stop.check()  # a library may have swallowed the stop: never publish a run that was asked to stop
                final = _publish(tmp, final)
                stop.published = True
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            if created_parent and final.parent.is_dir() and not any(final.parent.iterdir()):
                final.parent.rmdir()  # leave no empty runs/ folder behind either
            raise
    if recipe.tracking.mlflow:
        _track(final, recipe)
    return final


def _track(final: Path, recipe: Recipe) -> None:
    """Log the finished run to MLflow (tracking.mlflow); a failure is a warning: the run is kept."""
    from bentu.errors import MissingDependencyError
    from bentu.pipeline.tracking import log_run

    try:
        run_id = log_run(final, recipe_to_dict(recipe), uri=recipe.tracking.mlflow, experiment=recipe.tracking.experiment)
    except MissingDependencyError:
        raise
    except Exception as err:  # MLflow raises its own and network errors; the finished run stands
        log.warning("Run %s is complete, but logging it to MLflow at %s failed: %s", final, recipe.tracking.mlflow, err)
        return
    log.warning("Logged to MLflow (%s): run %s, model runs:/%s/model", recipe.tracking.mlflow, run_id, run_id)


def _run_in(run_dir: Path, recipe: Recipe, *, lang: str, data_root: Path | None, data_path: Path | None, progress: bool,
            key: bytes | None = None) -> None:
    from bentu.pipeline._progress import ReportingAuditLog, StepProgress

    with StepProgress(progress, lang) as steps:
        audit = ReportingAuditLog(run_dir / "audit.jsonl", root=run_dir, operator=recipe.governance.operator,
                                  key=key, progress=steps)
        _steps(run_dir, recipe, audit, lang=lang, data_root=data_root, data_path=data_path, progress=progress, key=key)


def _steps(run_dir: Path, recipe: Recipe, audit, *, lang: str, data_root: Path | None, data_path: Path | None,
           progress: bool, key: bytes | None) -> None:
    from bentu.green.energy import EnergyMeter

    title, subtitle = _title(recipe, lang)
    ctx = RunContext(recipe=recipe, dir=run_dir, lang=lang, data_root=data_root, data_path=data_path,
                     audit=audit, report=Report(lang=lang, title=title, subtitle=subtitle), progress=progress)
    resolved = recipe_to_dict(recipe)
    (run_dir / "recipe.yaml").write_text(yaml.safe_dump(resolved, allow_unicode=True, sort_keys=False), encoding="utf-8")
    audit.append("start", params={"recipe": recipe.name, "application": recipe.application, "lang": lang},
                 outputs={"recipe": run_dir / "recipe.yaml"})
    app = importlib.import_module(APPLICATIONS[recipe.application])
    with EnergyMeter(country_iso_code="CHN") as meter:
        app.run(ctx)
    meter.write(run_dir / "energy.json")
    ctx.evidence["energy"] = meter.result()
    audit.append("energy", outputs={"energy": run_dir / "energy.json"})
    _finish(ctx, resolved)
    (run_dir / OWNER_FILE).unlink()
    audit.complete(params={"integrity": integrity_note(key)})  # the very last write of the run


def _finish(ctx: RunContext, resolved: dict) -> None:
    from bentu.compliance.engine import evaluate_compliance
    from bentu.compliance.model_card import write_model_cards
    from bentu.pipeline._sections import compliance_section, energy_section, signoff_section

    energy_section(ctx)
    compliance = evaluate_compliance(ctx.dir, resolved, lang=ctx.lang)
    compliance["signoff"] = signoff_section(ctx, compliance)
    ctx.write_json("compliance.json", compliance)
    ctx.evidence["compliance"] = compliance
    ctx.audit.append("compliance", params={"rules": resolved["locale"]["rules"]}, outputs={"compliance": ctx.dir / "compliance.json"})
    cards = write_model_cards(ctx.dir, resolved)
    ctx.audit.append("model_card", outputs={p.name: p for p in cards})
    compliance_section(ctx, compliance)
    key = getattr(ctx.audit, "key", None)
    ctx.report.section("integrity", ctx.tr("Record integrity", "记录完整性")).paragraph(ctx.tr(
        f"{integrity_note(key, 'en')}. Check this run with 'bentu audit verify RUN_DIR'; it prints the "
        "head digest to keep elsewhere.",
        f"{integrity_note(key, 'zh')}。可用 'bentu audit verify 运行目录' 校验本次运行；它会打印链头摘要，"
        "请另行保存。"))
    from bentu.report.html import render_html

    (ctx.dir / "report.html").write_text(render_html(ctx.report), encoding="utf-8")
    ctx.audit.append("report", outputs={"report": ctx.dir / "report.html"})
