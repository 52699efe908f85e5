"""``bentu run RECIPE``: run a recipe end to end and write a run directory."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Optional

import typer

from bentu.cli._common import err_console, out_console, pick_lang, user_errors
from bentu.i18n import is_zh

__all__ = ["run"]


def run(
    recipe: Annotated[str, typer.Argument(help="A built-in recipe name (see `bentu recipes`) or a recipe .yaml file.")],
    data: Annotated[Optional[Path], typer.Option(help="A data file, or the folder holding the datasets (default: $BENTU_DATA or ../shared/data).")] = None,
    out: Annotated[Optional[Path], typer.Option(help="Write the run here (must not exist or be empty). Default: runs/<recipe>-<time>/.")] = None,
    lang: Annotated[Optional[str], typer.Option(help="Report language: zh or en (default: the recipe's locale).")] = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="Override a recipe value, e.g. --set train.epochs=5 (repeatable).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
) -> None:
    """Run RECIPE through data → model → training → inference and write a run directory.

    The last line printed on stdout is the run directory's path (a name already taken gets
    "-2", "-3", …). Ctrl-C and SIGTERM stop the run and remove its partial directory (exit 130 /
    143); partial directories left by a killed run are removed by the next run in that folder.
    """
    from bentu.pipeline import Interrupted, run_recipe
    from bentu.recipe import load_recipe

    logging.basicConfig(level=logging.WARNING)
    with user_errors(lang):
        if lang is not None and lang not in ("zh", "en"):
            from bentu.errors import RecipeError

            raise RecipeError(f"--lang must be 'zh' or 'en'. Got {lang!r} instead.", f"--lang 必须是 'zh' 或 'en'，实际为 {lang!r}。")
        rec = load_recipe(recipe, set_ or [])
        try:
            run_dir = run_recipe(rec, out=out, data=data, lang=lang, progress=not quiet)
        except Interrupted as stop:
            name = "SIGTERM" if stop.exit_code == 143 else "SIGINT" if stop.exit_code == 130 else f"signal {stop.signum}"
            err_console.print(f"已中断（{name}）：未保留任何运行目录。" if is_zh(pick_lang(lang))
                              else f"Interrupted ({name}): no run directory was kept.", markup=False)
            raise typer.Exit(stop.exit_code) from None
        _summary(run_dir, pick_lang(lang or rec.locale.language))
    out_console.print(str(run_dir), markup=False, highlight=False)


def _summary(run_dir: Path, lang: str) -> None:
    import json

    metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    test = metrics.get("test", {})
    shown = {k: test[k] for k in ("auc", "ks", "accuracy", "sensitivity", "specificity", "perplexity") if isinstance(test.get(k), (int, float))}
    text = "  ".join(f"{k}={v:.4f}" for k, v in shown.items())
    err_console.print(("运行完成：" if is_zh(lang) else "Run finished: ") + text)
