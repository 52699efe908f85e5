"""Guards of the gateway: small scanner classes with one ``scan(text) -> (sanitized, valid, risk)``.

- :class:`PiiScanner` replaces Chinese personal information (``bentu.privacy.detectors``) by typed
  placeholders (``<CN_ID_CARD_1>``) and keeps the originals in a per-exchange :class:`Vault`, so
  that an answer can be restored for a caller allowed to see them.
- :class:`KeywordScanner` checks text against a :class:`~bentu.llm.keywords.KeywordLibrary` and
  blocks it or masks the terms, as the policy says.
- :class:`SizeScanner` refuses text over a character limit.

``valid`` is False when the text must not pass; ``risk`` is a score in [0, 1] (1: certain).
Scanners are composed in a list the policy names; each returns what the next one sees.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bentu.errors import ConfigError
from bentu.llm.keywords import KeywordHit, KeywordLibrary
from bentu.privacy.detectors import PiiEngine

__all__ = ["Vault", "PiiScanner", "KeywordScanner", "SizeScanner", "REFUSAL_TEXT"]

REFUSAL_TEXT = {
    "zh": "抱歉，该回答可能包含不当内容，已被拦截。",
    "en": "Sorry, this answer may contain inappropriate content and was blocked.",
}
_PLACEHOLDER = re.compile(r"<([A-Z_]+)_(\d+)>")


@dataclass
class Vault:
    """Placeholders of one exchange and the values they stand for (kept in memory only)."""

    values: dict[str, str] = field(default_factory=dict)  # placeholder -> original
    _by_value: dict[tuple[str, str], str] = field(default_factory=dict)
    _counts: dict[str, int] = field(default_factory=dict)

    def placeholder(self, kind: str, value: str) -> str:
        """The placeholder of ``value`` (the same value gets the same placeholder)."""
        key = (kind, value)
        if key not in self._by_value:
            n = self._counts.get(kind, 0) + 1
            self._counts[kind] = n
            ph = f"<{kind}_{n}>"
            self._by_value[key] = ph
            self.values[ph] = value
        return self._by_value[key]

    def restore(self, text: str) -> str:
        """``text`` with every known placeholder replaced by its value (unknown ones stay)."""
        if not self.values:
            return text
        return _PLACEHOLDER.sub(lambda m: self.values.get(m.group(0), m.group(0)), text)

    def counts(self) -> dict[str, int]:
        """How many distinct values of each type were masked."""
        return dict(self._counts)


class PiiScanner:
    """Replace PII by typed placeholders; always valid (the text goes on, masked).

    Parameters
    ----------
    types : sequence of str, optional
        PII types to mask (all of ``bentu.privacy.detectors.PII_TYPES`` by default).
    """

    def __init__(self, types=None):
        self.engine = PiiEngine(types)

    def scan(self, text: str, vault: Vault | None = None) -> tuple[str, bool, float]:
        """Mask ``text``; placeholders are recorded in ``vault`` (a new one if None)."""
        vault = vault if vault is not None else Vault()
        spans = self.engine.detect(text)
        if not spans:
            return text, True, 0.0
        out, pos = [], 0
        for s in spans:
            out.append(text[pos:s.start])
            out.append(vault.placeholder(s.type, text[s.start:s.end]))
            pos = s.end
        out.append(text[pos:])
        return "".join(out), True, 1.0


class KeywordScanner:
    """Check text against a keyword library.

    Parameters
    ----------
    library : KeywordLibrary
    action : {"block", "mask"}, default "block"
        ``block``: the text is invalid (the gateway replaces the whole answer); ``mask``: every
        term found is replaced by ``□`` characters and the text stays valid.
    """

    def __init__(self, library: KeywordLibrary, *, action: str = "block"):
        if action not in ("block", "mask"):
            raise ConfigError(
                f"The 'action' parameter of KeywordScanner must be 'block' or 'mask'. Got {action!r} instead.",
                f"KeywordScanner 的 'action' 参数必须为 'block' 或 'mask'，实际为 {action!r}。",
            )
        self.library, self.action = library, action
        self.last_hits: list[KeywordHit] = []

    def hits(self, text: str) -> list[KeywordHit]:
        """The terms found in ``text``."""
        return self.library.find(text)

    def scan(self, text: str) -> tuple[str, bool, float]:
        hits = self.last_hits = self.hits(text)
        if not hits:
            return text, True, 0.0
        if self.action == "block":
            return text, False, 1.0
        return self.mask(text, hits), True, 1.0

    @staticmethod
    def mask(text: str, hits: list[KeywordHit]) -> str:
        """``text`` with every hit replaced by as many ``□`` (the length is kept)."""
        out, pos = [], 0
        for h in hits:
            if h.start < pos:
                continue
            out.append(text[pos:h.start])
            out.append("□" * (h.end - h.start))
            pos = h.end
        out.append(text[pos:])
        return "".join(out)


class SizeScanner:
    """Refuse text longer than ``max_chars`` characters."""

    def __init__(self, max_chars: int):
        self.max_chars = int(max_chars)

    def scan(self, text: str) -> tuple[str, bool, float]:
        ok = len(text) <= self.max_chars
        return text, ok, 0.0 if ok else 1.0
