"""``bentu sweep RECIPE --grid key=v1,v2 …``: a grid of runs, ranked on validation data."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Optional

import typer

from bentu.cli._common import err_console, out_console, user_errors

__all__ = ["sweep"]


def sweep(
    recipe: Annotated[str, typer.Argument(help="A built-in recipe name or a recipe .yaml file.")],
    grid: Annotated[list[str], typer.Option("--grid", help="KEY=V1,V2,… : values of one recipe key (repeatable; every combination runs).")],
    out: Annotated[Optional[Path], typer.Option(help="Folder for the sweep (must not exist or be empty). Default: runs/sweep-<recipe>-<time>/.")] = None,
    executor: Annotated[str, typer.Option(help="inline (one after the other), processes or ray.")] = "inline",
    jobs: Annotated[int, typer.Option(help="Points at a time with processes or ray.", min=1)] = 1,
    data: Annotated[Optional[Path], typer.Option(help="A data file, or the folder holding the datasets.")] = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="An override for every point (repeatable).")] = None,
    lang: Annotated[Optional[str], typer.Option(help="Language of the reports and the summary: zh or en.")] = None,
) -> None:
    """Run RECIPE once per grid point (each a normal run directory) and rank them on validation AUC.

    Writes sweep.json and summary.html; the last line printed is the sweep folder.
    """
    import datetime as dt

    from bentu.pipeline.sweep import run_sweep

    logging.basicConfig(level=logging.WARNING)
    with user_errors(lang):
        if out is None:
            out = Path("runs") / f"sweep-{Path(recipe).stem}-{dt.datetime.now():%Y%m%d-%H%M%S}"
        summary = run_sweep(recipe, grid, out=out, base=set_ or [], executor=executor, jobs=jobs, data=data, lang=lang)
    for rank, p in enumerate(summary["points"], start=1):
        err_console.print(f"{rank}. {p['overrides']}  val auc={p['val'].get('auc', float('nan')):.4f}  "
                          f"test auc={p['test'].get('auc', float('nan')):.4f}", markup=False, highlight=False)
    out_console.print(str(out), markup=False, highlight=False)
