"""The run context handed to every step: the run directory being built, the recipe, the
language, the audit log and the report."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bentu.recipe import Recipe
from bentu.report.builder import Report
from bentu.rundir import artifact_model, write_artifact
from bentu.i18n import tr

__all__ = ["RunContext", "to_jsonable"]


def to_jsonable(obj: Any) -> Any:
    """Convert numpy scalars/arrays, Paths and NaN into JSON-safe values (NaN → None)."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return to_jsonable(obj.item())
    if isinstance(obj, float) and (math.isnan(obj) or math.isinf(obj)):
        return None
    if isinstance(obj, Path):
        return str(obj)
    return obj


@dataclass
class RunContext:
    """State shared by the steps of one run.

    Attributes
    ----------
    recipe : Recipe
    dir : Path
        The run directory being built (a temporary name until the run succeeds).
    lang : {"zh", "en"}
    data_root : Path or None
        Where real datasets are found (``--data`` or ``BENTU_DATA`` or ``../shared/data``).
    data_path : Path or None
        ``--data`` when it names a file.
    audit : AuditLog
    report : Report
    evidence : dict
        In-memory results (metrics, profile, …) for later steps such as compliance.
    """

    recipe: Recipe
    dir: Path
    lang: str
    data_root: Path | None
    data_path: Path | None
    audit: Any
    report: Report
    progress: bool = True
    evidence: dict[str, Any] = field(default_factory=dict)

    def tr(self, en: str, zh: str) -> str:
        """The text in the run's language."""
        return tr(self.lang, en, zh)

    def path(self, rel: str) -> Path:
        """A path inside the run directory (parent folders created)."""
        p = self.dir / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def write_json(self, rel: str, obj: Any) -> Path:
        """Write ``obj`` as pretty UTF-8 JSON at ``rel`` inside the run directory; a typed
        artifact (:mod:`bentu.rundir`) is validated against its model and written atomically."""
        model = artifact_model(rel)
        if model is not None:
            return write_artifact(self.dir, model, to_jsonable(obj))
        p = self.path(rel)
        p.write_text(json.dumps(to_jsonable(obj), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        return p
