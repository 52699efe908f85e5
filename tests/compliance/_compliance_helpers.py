"""Helpers of the compliance tests."""

from __future__ import annotations

from pathlib import Path

import yaml

from bentu.compliance.engine import evaluate_compliance


def verdicts(run: Path, recipe: dict, packs: list[str] | None = None, lang: str = "en") -> dict[str, dict]:
    """Rule id → verdict of ``run`` under ``recipe`` (optionally other packs)."""
    recipe = yaml.safe_load(yaml.safe_dump(recipe))
    if packs is not None:
        recipe["locale"]["rules"] = packs
    return {v["rule"]: v for v in evaluate_compliance(run, recipe, lang=lang)["verdicts"]}

