"""``bentu monitor RUN_DIR NEW_DATA``: drift (PSI) of new data against the training data.

Exit codes: 0 — every PSI below ``--threshold``; 1 — at least one feature's or the score's PSI
is at or above it; 2 — bad input (message, no traceback).
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from bentu.atomic import write_text_atomic
from bentu.cli._common import check_new_output, out_console, pick_lang, user_errors
from bentu.errors import ConfigError, DataError
from bentu.i18n import register, t

__all__ = ["monitor", "load_reference", "build_report"]

REFERENCE = Path("model") / "reference.json"
_BAND_STYLE = {"stable": "green", "moderate": "yellow", "significant": "bold red", "unknown": "dim"}
_BAND_ZH = {"stable": "稳定", "moderate": "中度漂移", "significant": "显著漂移", "unknown": "未知"}
_TEXT = {
    "title": ("Drift of {new} against the training data of {run}", "{new} 相对 {run} 训练数据的漂移"),
    "feature": ("feature", "特征"), "psi": ("PSI", "PSI"), "band": ("band", "等级"),
    "missing": ("missing ref → new", "缺失率 训练 → 新"), "notes": ("notes", "说明"),
    "score": ("model score", "模型分数"),
    "new_cats": ("new categories: {v}", "新类别：{v}"), "gone_cats": ("categories absent: {v}", "缺少类别：{v}"),
    "out_of_range": ("{v:.1%} outside the training range", "{v:.1%} 超出训练范围"),
    "crossed": ("PSI at or above {t:g}: {names}", "PSI 达到或超过 {t:g}：{names}"),
    "ok": ("All PSI below {t:g} ({n} rows compared).", "全部 PSI 低于 {t:g}（比较了 {n} 行）。"),
    "bands": ("Bands: < 0.1 stable, 0.1–0.25 moderate, ≥ 0.25 significant.",
              "等级：< 0.1 稳定，0.1–0.25 中度漂移，≥ 0.25 显著漂移。"),
    "written": ("Report written to {p}", "报告已写入 {p}"),
}


register({f"monitor.{key}": {"en": en, "zh": zh} for key, (en, zh) in _TEXT.items()})
register({f"monitor.band.{band}": {"en": band, "zh": zh} for band, zh in _BAND_ZH.items()})


def _t(key: str, lang: str, **kw) -> str:
    return t(f"monitor.{key}", lang, **kw)


def load_reference(run_dir: Path) -> dict:
    """Read ``RUN_DIR/model/reference.json`` (the training-data profile)."""
    if not run_dir.is_dir():
        raise DataError(f"Run directory {run_dir} does not exist.", f"运行目录 {run_dir} 不存在。")
    path = run_dir / REFERENCE
    if not path.exists():
        raise DataError(
            f"{run_dir} has no {REFERENCE.as_posix()} (the training-data profile written by `bentu run`); "
            "re-run the recipe with this version of bentu.",
            f"{run_dir} 中没有 {REFERENCE.as_posix()}（由 `bentu run` 写入的训练数据画像）；请用当前版本的 bentu 重新运行配方。",
        )
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataError(f"{path} is not valid JSON ({err}); re-run the recipe to rewrite it.",
                        f"{path} 不是有效的 JSON（{err}）；请重新运行配方以重写该文件。") from err


def build_report(run_dir: Path, new_data: Path, threshold: float) -> dict:
    """Drift report of ``new_data`` against ``run_dir``'s reference, with the crossed names."""
    from bentu.audit.drift import drift_report
    from bentu.data.io import read_table
    from bentu.inference.predictor import Predictor

    reference = load_reference(run_dir)
    if not new_data.is_file():
        raise DataError(
            f"New data file {new_data} does not exist; give the path of a CSV, Parquet or JSON Lines file.",
            f"新数据文件 {new_data} 不存在；请给出 CSV、Parquet 或 JSON Lines 文件的路径。",
        )
    df = read_table(new_data)
    report = drift_report(reference, df, None)  # checks columns before the model is loaded
    predictor = Predictor.from_run_dir(run_dir)
    scores = predictor.predict_proba(df)
    # features as the model sees them (k-anonymity generalisation, rare levels), as the reference was made
    report = drift_report(reference, predictor.view(df) if predictor.kind == "tabular" else df, scores)
    crossed = [name for name, f in report["features"].items() if f["psi"] >= threshold]
    if report["score"] is not None and report["score"]["psi"] >= threshold:
        crossed.append("score")
    return {"run_dir": str(run_dir), "new_data": str(new_data), "threshold": threshold, "crossed": crossed, **report}


def _notes(entry: dict, lang: str) -> str:
    parts = []
    if entry.get("new_categories"):
        parts.append(_t("new_cats", lang, v=", ".join(entry["new_categories"][:5])))
    if entry.get("missing_categories"):
        parts.append(_t("gone_cats", lang, v=", ".join(entry["missing_categories"][:5])))
    if entry.get("out_of_range", 0) > 0.001:
        parts.append(_t("out_of_range", lang, v=entry["out_of_range"]))
    return "; ".join(parts)


def _rows(report: dict, lang: str) -> list[tuple[str, dict]]:
    rows = sorted(report["features"].items(), key=lambda kv: -kv[1]["psi"])
    if report["score"] is not None:
        rows = [(_t("score", lang), report["score"])] + rows
    return rows


def _table(report: dict, lang: str) -> Table:
    table = Table(title=_t("title", lang, new=Path(report["new_data"]).name, run=Path(report["run_dir"]).name))
    for key in ("feature", "psi", "band", "missing", "notes"):
        table.add_column(_t(key, lang), justify="right" if key == "psi" else "left")
    for name, e in _rows(report, lang):
        band = _t(f"band.{e['band']}", lang)
        table.add_row(name, f"{e['psi']:.4f}", f"[{_BAND_STYLE[e['band']]}]{band}[/]",
                      f"{e['missing_ref']:.1%} → {e['missing_new']:.1%}", _notes(e, lang))
    return table


def _html(report: dict, lang: str) -> str:
    esc = html.escape
    head = "".join(f"<th>{esc(_t(k, lang))}</th>" for k in ("feature", "psi", "band", "missing", "notes"))
    body = "".join(
        f"<tr class='{e['band']}'><td>{esc(name)}</td><td>{e['psi']:.4f}</td>"
        f"<td>{esc(_t('band.' + e['band'], lang))}</td>"
        f"<td>{e['missing_ref']:.1%} → {e['missing_new']:.1%}</td><td>{esc(_notes(e, lang))}</td></tr>"
        for name, e in _rows(report, lang))
    summary = (_t("crossed", lang, t=report["threshold"], names=", ".join(report["crossed"]))
               if report["crossed"] else _t("ok", lang, t=report["threshold"], n=report["n_rows_new"]))
    title = _t("title", lang, new=Path(report["new_data"]).name, run=Path(report["run_dir"]).name)
    return (
        f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'><title>{esc(title)}</title><style>"
        "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{padding:4px 10px;"
        "border-bottom:1px solid #ddd;text-align:left}.moderate{background:#fff6d5}.significant{background:#fadbd8}"
        f"</style></head><body><h1>{esc(title)}</h1><p>{esc(summary)}</p><table><tr>{head}</tr>{body}</table>"
        f"<p>{esc(_t('bands', lang))}</p></body></html>\n"
    )


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def monitor(
    run_dir: Annotated[Path, typer.Argument(help="A run directory written by `bentu run` (has model/reference.json).")],
    new_data: Annotated[Path, typer.Argument(help="New rows to check: CSV (optionally .gz), Parquet or JSON Lines.")],
    threshold: Annotated[float, typer.Option(help="Exit with code 1 when any PSI is at or above this.")] = 0.25,
    fmt: Annotated[str, typer.Option("--format", help="Output on stdout: table or json.")] = "table",
    out: Annotated[Optional[Path], typer.Option("--out", help="Also write the report: .html, else JSON.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing --out file (never an input).")] = False,
    lang: Annotated[Optional[str], typer.Option("--lang", help="Language of the output: zh or en.")] = None,
) -> None:
    """PSI of every input feature and of the model score, NEW_DATA against RUN_DIR's training data.

    Bands: < 0.1 stable, 0.1–0.25 moderate, ≥ 0.25 significant.
    Exit code 1 when any PSI is at or above --threshold; 2 on bad input.
    """
    lang = pick_lang(lang)
    with user_errors(lang):
        if fmt not in ("table", "json"):
            raise ConfigError(f"--format must be 'table' or 'json'. Got {fmt!r} instead.",
                              f"--format 必须是 'table' 或 'json'，实际为 {fmt!r}。")
        if not (math.isfinite(threshold) and threshold > 0):
            raise ConfigError(f"--threshold must be a number > 0. Got {threshold!r} instead.",
                              f"--threshold 必须是大于 0 的数，实际为 {threshold!r}。")
        if out is not None:
            check_new_output(out, [run_dir, new_data], "--out", force)
        from bentu.compliance.audit_log import require_complete_run  # lazy: `bentu --help` stays fast

        require_complete_run(run_dir)  # an interrupted, tampered or wrongly keyed run is refused
        report = _jsonable(build_report(run_dir, new_data, threshold))
        if out is not None:
            out.parent.mkdir(parents=True, exist_ok=True)
            text = (_html(report, lang) if out.suffix.lower() in (".html", ".htm")
                    else json.dumps(report, ensure_ascii=False, indent=2) + "\n")
            write_text_atomic(out, text)
    if fmt == "json":
        typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        out_console.print(_table(report, lang))
        msg = (_t("crossed", lang, t=threshold, names=", ".join(report["crossed"])) if report["crossed"]
               else _t("ok", lang, t=threshold, n=report["n_rows_new"]))
        out_console.print(msg, markup=False)
        if out is not None:
            out_console.print(_t("written", lang, p=out), markup=False)
    if report["crossed"]:
        raise typer.Exit(1)
