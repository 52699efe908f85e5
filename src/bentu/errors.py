"""User-facing errors.

Every error a user can cause derives from :class:`BentuError` (a ``ValueError``), carries an
English and a Chinese message, and is turned into a one-paragraph message without a traceback
by the command line.
"""

from __future__ import annotations

import difflib
from bentu.i18n import is_zh
from collections.abc import Callable, Iterable

__all__ = ["BentuError", "DataError", "RecipeError", "ConfigError", "MissingDependencyError", "did_you_mean"]


def did_you_mean(value: object, choices: Iterable[str], *, n: int = 1, cutoff: float = 0.6,
                 quote: Callable[[str], str] = repr) -> tuple[str, str]:
    """The " Did you mean …?" hint for a misspelt ``value``, in English and Chinese ("" when none
    of ``choices`` is close).

    >>> did_you_mean("CN_PHONES", ["CN_PHONE", "EMAIL"], quote=str)
    (' Did you mean CN_PHONE?', '您是否想用 CN_PHONE？')
    """
    close = difflib.get_close_matches(str(value), list(choices), n=n, cutoff=cutoff)
    if not close:
        return "", ""
    return f" Did you mean {', '.join(map(quote, close))}?", f"您是否想用 {'、'.join(map(quote, close))}？"


class BentuError(ValueError):
    """An error caused by the user's input, with a message in English and Chinese.

    Parameters
    ----------
    en : str
        The message in English: what is wrong, where (file, column, key), and how to fix it.
    zh : str, optional
        The same message in Chinese. Defaults to the English text.
    """

    def __init__(self, en: str, zh: str | None = None):
        super().__init__(en)
        self.en = en
        self.zh = zh or en

    def __reduce__(self):  # both messages survive pickling (errors raised in worker processes)
        return type(self), (self.en, self.zh)

    def message(self, lang: str = "en") -> str:
        """Return the message in ``lang`` (``"zh"`` or ``"en"``)."""
        return self.zh if is_zh(lang) else self.en


class DataError(BentuError):
    """A data file or table is missing, malformed, or does not fit the recipe."""


class RecipeError(BentuError):
    """A recipe is unknown, misspelt, or has a value of the wrong type."""


class ConfigError(BentuError):
    """A parameter of a library object is out of range."""


class MissingDependencyError(BentuError):
    """An optional dependency is not installed."""
