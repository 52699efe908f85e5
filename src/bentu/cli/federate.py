"""``bentu federate RECIPE [--deploy]``: run a recipe with federated training on Flower."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Optional

import typer

from bentu.cli._common import err_console, out_console, pick_lang, user_errors
from bentu.i18n import is_zh

__all__ = ["federate"]


def federate(
    recipe: Annotated[str, typer.Argument(help="A built-in recipe name (see `bentu recipes`) or a recipe .yaml file.")],
    deploy: Annotated[bool, typer.Option("--deploy", help="Run a real SuperLink and one SuperNode process per client on loopback instead of Flower's simulation.")] = False,
    data: Annotated[Optional[Path], typer.Option(help="A data file, or the folder holding the datasets (default: $BENTU_DATA or ../shared/data).")] = None,
    out: Annotated[Optional[Path], typer.Option(help="Write the run here (must not exist or be empty). Default: runs/<recipe>-<time>/.")] = None,
    lang: Annotated[Optional[str], typer.Option(help="Report language: zh or en (default: the recipe's locale).")] = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="Override a recipe value, e.g. --set federated.rounds=5 (repeatable).")] = None,
) -> None:
    """Train RECIPE's model across its institutions with Flower, without pooling their data.

    Same as `bentu run RECIPE --set federated.enabled=true`; --deploy runs real Flower
    processes. The last line printed on stdout is the run directory's path.
    """
    from bentu.federated.strategies import resolve_strategy
    from bentu.pipeline import run_recipe
    from bentu.recipe import load_recipe

    logging.basicConfig(level=logging.WARNING)
    with user_errors(lang):
        if lang is not None and lang not in ("zh", "en"):
            from bentu.errors import RecipeError

            raise RecipeError(f"--lang must be 'zh' or 'en'. Got {lang!r} instead.", f"--lang 必须是 'zh' 或 'en'，实际为 {lang!r}。")
        overrides = [*(set_ or []), "federated.enabled=true"] + (["federated.deploy=true"] if deploy else [])
        rec = load_recipe(recipe, overrides)
        resolve_strategy(rec.federated.strategy)  # fail before any data is read
        run_dir = run_recipe(rec, out=out, data=data, lang=lang, progress=True)
        zh = is_zh(pick_lang(lang or rec.locale.language))
        err_console.print(("联邦训练完成：" if zh else "Federated run finished: ") + str(run_dir))
    out_console.print(str(run_dir), markup=False, highlight=False)
