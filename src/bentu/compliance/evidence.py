"""Read a run's evidence by file and JSON pointer (``privacy.json#/deidentified``).

A missing file or field is evidence of absence: :meth:`Evidence.get` returns an
:class:`Observed` with ``present=False`` instead of raising. Typed artifacts are read through
:func:`bentu.rundir.read_artifact` (a file that does not match its schema is a ``DataError``),
and only what the file holds is seen (schema defaults are not filled in). ``recipe.yaml`` is
read from the resolved recipe dict handed to the engine, so the verdicts follow the recipe
that ran.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bentu.recipe import Recipe
from bentu.rundir import AuditRecord, artifact_model, read_artifact, read_audit_records

__all__ = ["Evidence", "Observed", "resolve_pointer", "MISSING"]

RECIPE_FILE = "recipe.yaml"


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def resolve_pointer(doc: Any, pointer: str) -> Any:
    """Return the value at an RFC 6901 JSON pointer in ``doc``, or :data:`MISSING`."""
    if pointer in ("", "/"):
        return doc
    node = doc
    for raw in pointer.lstrip("/").split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return MISSING
    return node


@dataclass(frozen=True)
class Observed:
    """One field of the evidence: where it is and what it holds."""

    file: str
    pointer: str
    value: Any = MISSING

    @property
    def present(self) -> bool:
        """True when the file and the field exist (a ``null`` value is present)."""
        return self.value is not MISSING

    @property
    def ref(self) -> str:
        """``file#pointer``, e.g. ``privacy.json#/deidentified``."""
        return f"{self.file}#{self.pointer}" if self.pointer else self.file

    def to_dict(self) -> dict[str, Any]:
        """JSON form for ``compliance.json`` (a missing value is ``null`` with present false)."""
        value = self.value if self.present else None
        return {"ref": self.ref, "file": self.file, "pointer": self.pointer,
                "present": self.present, "observed": _summarise(value)}


def _summarise(value: Any) -> Any:
    """Keep observed values small: long lists and big dicts are cut to a summary."""
    if isinstance(value, list) and len(value) > 10:
        return value[:10] + [f"... {len(value) - 10} more"]
    if isinstance(value, dict) and len(json.dumps(value, default=str)) > 2000:
        return {"keys": sorted(map(str, value))[:20], "size": len(value)}
    return value


class Evidence:
    """The evidence of one run directory plus its resolved recipe.

    Parameters
    ----------
    run_dir : Path
        The run directory.
    recipe : dict
        The resolved recipe (what ``recipe.yaml`` holds).
    """

    def __init__(self, run_dir: Path, recipe: dict):
        self.run_dir = Path(run_dir)
        self.recipe = recipe or {}
        self._cache: dict[str, Any] = {}

    def document(self, file: str) -> Any:
        """The parsed JSON of ``file`` (``recipe.yaml`` → the recipe dict), or MISSING."""
        if file == RECIPE_FILE:
            return self.recipe
        if file not in self._cache:
            model = artifact_model(file)
            if model is AuditRecord:
                records = read_audit_records(self.run_dir)
                self._cache[file] = [r.model_dump(mode="json") for r in records] if records else MISSING
            elif model is not None and model is not Recipe:
                doc = read_artifact(self.run_dir, model, required=False)
                self._cache[file] = MISSING if doc is None else doc.model_dump(
                    mode="json", by_alias=True, exclude_unset=True)
            else:  # an untyped file: parsed as is
                try:
                    self._cache[file] = json.loads((self.run_dir / file).read_text(encoding="utf-8"))
                except (OSError, ValueError):  # absent or unreadable: evidence of absence
                    self._cache[file] = MISSING
        return self._cache[file]

    def get(self, ref: str) -> Observed:
        """Look up ``"file#/pointer"`` (a bare name: whether that file/folder exists)."""
        if "#" not in ref:
            return self.path(ref)
        file, _, pointer = ref.partition("#")
        doc = self.document(file)
        value = MISSING if doc is MISSING else resolve_pointer(doc, pointer)
        return Observed(file, pointer, value)

    def path(self, relpath: str) -> Observed:
        """Whether a file or folder exists; the value lists a folder's files (sorted)."""
        p = self.run_dir / relpath
        if p.is_dir():
            files = sorted(q.relative_to(p).as_posix() for q in p.rglob("*") if q.is_file())
            return Observed(relpath, "", files)
        if p.is_file():
            return Observed(relpath, "", relpath)
        return Observed(relpath, "")

    @property
    def application(self) -> str | None:
        """The recipe's application (credit, imaging, learning)."""
        return self.recipe.get("application")
