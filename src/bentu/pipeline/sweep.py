"""A grid of recipe overrides, each a normal run directory, ranked on the validation metric.

``bentu sweep RECIPE --grid train.lr=1e-3,3e-3 --grid model.dropout=0,0.1`` runs every
combination (here 4) as ``OUT/point-01`` … (each a complete run directory with its own report),
on an executor: ``inline`` (one after the other), ``processes`` (``jobs`` spawned processes) or
``ray`` (Ray tasks, one CPU each, on ``RAY_ADDRESS`` or a local cluster). It writes
``sweep.json`` and ``summary.html``, which rank the points on the **validation** AUC — test
metrics are shown beside, never used to choose.
"""

from __future__ import annotations

import concurrent.futures
import itertools
import json
import multiprocessing
import os
from pathlib import Path

import yaml

from bentu.errors import ConfigError, DataError, RecipeError
from bentu.i18n import is_zh

__all__ = ["parse_grid", "run_sweep"]


def parse_grid(specs: list[str]) -> list[dict[str, object]]:
    """``["a.b=1,2", "c=x,y"]`` → the list of every combination, as ``{key: value}``."""
    axes = []
    for spec in specs:
        key, sep, values = spec.partition("=")
        if not sep or not key.strip() or not values.strip():
            raise RecipeError(
                f"--grid {spec!r} must be KEY=V1,V2,… (e.g. --grid train.lr=0.001,0.003).",
                f"--grid {spec!r} 的格式必须是 KEY=V1,V2,…（例如 --grid train.lr=0.001,0.003）。")
        vals = [yaml.safe_load(v) for v in values.split(",")]
        axes.append([(key.strip(), v) for v in vals])
    keys = [a[0][0] for a in axes]
    dup = sorted({k for k in keys if keys.count(k) > 1})
    if dup:
        raise RecipeError(f"--grid names {', '.join(dup)} more than once; give each key once with all its values.",
                          f"--grid 多次给出 {', '.join(dup)}；每个键只给一次，列出它的全部取值。")
    return [dict(combo) for combo in itertools.product(*axes)]


def _override(key: str, value: object) -> str:
    return f"{key}={json.dumps(value) if not isinstance(value, str) else value}"


def _run_point(recipe: str, overrides: list[str], out: str, data: str | None, lang: str | None) -> dict:
    """One point (also in a worker process or a Ray task): run it, return its metrics."""
    import torch

    from bentu.pipeline import run_recipe
    from bentu.recipe import load_recipe

    torch.set_num_threads(1)  # points side by side: one thread each, the same models on any machine
    rec = load_recipe(recipe, overrides)
    run_dir = run_recipe(rec, out=Path(out), data=Path(data) if data else None, lang=lang, progress=False)
    metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    return {"dir": str(run_dir), "val": metrics.get("val", {}), "test": metrics.get("test", {})}


def run_sweep(recipe: str, grid: list[str], *, out: Path, base: list[str] | None = None, executor: str = "inline",
              jobs: int = 1, data: Path | None = None, lang: str | None = None) -> dict:
    """Run every point of ``grid`` and write ``sweep.json`` and ``summary.html`` into ``out``.

    Returns the summary: ``points`` ranked by validation AUC (best first), each with its
    overrides, run directory, validation and test metrics.
    """
    from bentu.recipe import load_recipe

    points = parse_grid(grid)
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise DataError(f"Sweep output {out} already exists and is not empty; bentu never overwrites runs.",
                        f"调参输出目录 {out} 已存在且不为空；bentu 从不覆盖已有的运行。")
    for p in points:  # every point's recipe is valid before anything runs
        load_recipe(recipe, [*(base or []), *(_override(k, v) for k, v in p.items())])
    out.mkdir(parents=True, exist_ok=True)
    args = [(recipe, [*(base or []), *(_override(k, v) for k, v in p.items())], str(out / f"point-{i:02d}"),
             str(data) if data else None, lang) for i, p in enumerate(points, start=1)]
    results = _execute(args, executor, jobs)
    rows = [{"point": i, "overrides": p, **r} for i, (p, r) in enumerate(zip(points, results), start=1)]
    rows.sort(key=lambda r: -(r["val"].get("auc") if isinstance(r["val"].get("auc"), (int, float)) else float("-inf")))
    summary = {"recipe": recipe, "executor": executor, "ranked_on": "val.auc", "grid": grid, "points": rows}
    (out / "sweep.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    (out / "summary.html").write_text(_summary_html(summary, lang or "en"), encoding="utf-8")
    return summary


def _execute(args: list[tuple], executor: str, jobs: int) -> list[dict]:
    if executor == "inline":
        return [_run_point(*a) for a in args]
    if executor == "processes":
        with concurrent.futures.ProcessPoolExecutor(max(jobs, 1), mp_context=multiprocessing.get_context("spawn")) as ex:
            return list(ex.map(_run_point, *zip(*args)))
    if executor == "ray":
        from bentu.train.parallel import start_ray

        ray, owned = start_ray(os.environ.get("RAY_ADDRESS"), num_cpus=max(jobs, 1))
        try:
            task = ray.remote(num_cpus=1, max_retries=0)(_run_point)
            return ray.get([task.remote(*a) for a in args])
        finally:
            if owned:
                ray.shutdown()
    raise ConfigError(f"The 'executor' parameter must be one of inline, processes, ray. Got {executor!r} instead.",
                      f"参数 'executor' 必须是 inline、processes、ray 之一，实际为 {executor!r}。")


def _summary_html(summary: dict, lang: str) -> str:
    from bentu.report.builder import Report
    from bentu.report.html import render_html

    zh = is_zh(lang)
    t = (lambda en, z: z if zh else en)  # noqa: E731
    rep = Report(lang=lang, title=t(f"Sweep of {summary['recipe']}", f"{summary['recipe']} 调参汇总"),
                 subtitle=t(f"{len(summary['points'])} points on executor {summary['executor']}",
                            f"共 {len(summary['points'])} 个点，执行器 {summary['executor']}"))
    s = rep.section("ranking", t("Ranking on validation AUC", "按验证集 AUC 排名"))
    s.note(t("Points are ranked on the validation set only; test metrics are shown for information and were "
             "not used to choose.", "仅按验证集排名；测试集指标仅供参考，未用于选择。"))
    keys = list(summary["points"][0]["overrides"]) if summary["points"] else []
    s.table([t("rank", "名次"), *keys, t("val AUC", "验证 AUC"), t("test AUC", "测试 AUC"), t("run", "运行目录")],
            [[i, *(json.dumps(r["overrides"][k]) for k in keys), r["val"].get("auc"), r["test"].get("auc"),
              Path(r["dir"]).name] for i, r in enumerate(summary["points"], start=1)])
    return render_html(rep)
