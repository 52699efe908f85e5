"""``bentu recipes``: list the built-in recipes."""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer
import yaml
from rich.table import Table

from bentu.cli._common import out_console, pick_lang

__all__ = ["recipes"]


def recipes(fmt: Annotated[str, typer.Option("--format", help="table or json")] = "table",
            lang: Annotated[Optional[str], typer.Option(help="Language: zh or en.")] = None) -> None:
    """List the built-in recipes with their application and description."""
    from bentu.recipe import builtin_recipes

    lang = pick_lang(lang)

    rows = []
    for name, path in sorted(builtin_recipes().items()):
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        desc = raw.get("description") or ""
        if isinstance(desc, dict):
            desc = desc.get(lang) or desc.get("en") or ""
        rows.append({"name": name, "application": raw.get("application", "credit"), "description": desc})
    if fmt == "json":
        out_console.print(json.dumps(rows, ensure_ascii=False, indent=2), markup=False)
        return
    table = Table("recipe", "application", "description")
    for r in rows:
        table.add_row(r["name"], r["application"], r["description"])
    out_console.print(table)
