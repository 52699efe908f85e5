"""The composition root: runs a recipe through the layers and writes the run directory.

A run directory is built under a temporary hidden name beside its final place and renamed only
when every step has succeeded, so a failed run never leaves a directory that looks complete,
and no run ever overwrites another.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import os
import shutil
import uuid
from pathlib import Path

import yaml

from bentu.errors import DataError
from bentu.i18n import normalize_lang
from bentu.pipeline._context import RunContext
from bentu.recipe import Recipe, default_data_root, recipe_to_dict
from bentu.report.builder import Report

__all__ = ["run_recipe", "RunContext", "APPLICATIONS"]

log = logging.getLogger(__name__)

APPLICATIONS = {"credit": "bentu.pipeline.credit", "imaging": "bentu.pipeline.imaging", "learning": "bentu.pipeline.learning"}


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
    }
    en, zh = titles[recipe.application]
    return (zh if lang == "zh" else en), recipe.description or recipe.name


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
    lang = normalize_lang(lang or recipe.locale.language)
    data_root, data_path = _resolve_data(data)
    final = _final_dir(recipe.name, out, Path(runs_root))
    created_parent = not final.parent.exists()
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".{final.name}.partial-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        _run_in(tmp, recipe, lang=lang, data_root=data_root, data_path=data_path, progress=progress)
        if final.exists():  # an empty --out directory
            final.rmdir()
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if created_parent and not any(final.parent.iterdir()):
            final.parent.rmdir()  # leave no empty runs/ folder behind either
        raise
    return final


def _run_in(run_dir: Path, recipe: Recipe, *, lang: str, data_root: Path | None, data_path: Path | None, progress: bool) -> None:
    from bentu.pipeline._progress import ReportingAuditLog, StepProgress

    with StepProgress(progress, lang) as steps:
        audit = ReportingAuditLog(run_dir / "audit.jsonl", root=run_dir, operator=recipe.governance.operator,
                                  progress=steps)
        _steps(run_dir, recipe, audit, lang=lang, data_root=data_root, data_path=data_path, progress=progress)


def _steps(run_dir: Path, recipe: Recipe, audit, *, lang: str, data_root: Path | None, data_path: Path | None,
           progress: bool) -> None:
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


def _finish(ctx: RunContext, resolved: dict) -> None:
    from bentu.compliance.engine import evaluate_compliance
    from bentu.compliance.model_card import write_model_cards
    from bentu.pipeline._sections import compliance_section, energy_section

    energy_section(ctx)
    compliance = evaluate_compliance(ctx.dir, resolved, lang=ctx.lang)
    ctx.write_json("compliance.json", compliance)
    ctx.evidence["compliance"] = compliance
    ctx.audit.append("compliance", params={"rules": resolved["locale"]["rules"]}, outputs={"compliance": ctx.dir / "compliance.json"})
    cards = write_model_cards(ctx.dir, resolved)
    ctx.audit.append("model_card", outputs={p.name: p for p in cards})
    compliance_section(ctx, compliance)
    from bentu.report.html import render_html

    (ctx.dir / "report.html").write_text(render_html(ctx.report), encoding="utf-8")
    ctx.audit.append("report", outputs={"report": ctx.dir / "report.html"})
