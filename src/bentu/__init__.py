"""bentu (本土): take an AI model to a new place and make it work under that place's rules.

The Python API (see the README, "Python API"): :func:`run` runs a recipe and returns a
:class:`Run`; :func:`load_run` opens a finished run directory. They are loaded on first use, so
``import bentu`` imports no heavy library.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["__version__", "Run", "run", "load_run"]

if TYPE_CHECKING:  # pragma: no cover
    from bentu.api import Run, load_run, run


def __getattr__(name: str) -> Any:
    if name in ("Run", "run", "load_run"):
        from bentu import api

        return getattr(api, name)
    raise AttributeError(f"module 'bentu' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), "Run", "run", "load_run"])
