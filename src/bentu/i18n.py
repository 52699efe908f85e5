"""A small zh/en message catalogue.

Each package registers its own messages with :func:`register`; :func:`t` looks one up.
Languages are ``"zh"`` and ``"en"``; ``"zh-CN"`` and similar tags map to ``"zh"``.
"""

from __future__ import annotations

__all__ = ["register", "t", "normalize_lang", "LANGS"]

LANGS = ("zh", "en")
_CATALOGUE: dict[str, dict[str, str]] = {}


def normalize_lang(lang: str | None) -> str:
    """Map a language tag (``zh-CN``, ``en-US``, ``zh``) to ``"zh"`` or ``"en"``."""
    if not lang:
        return "en"
    return "zh" if lang.lower().startswith("zh") else "en"


def register(messages: dict[str, dict[str, str]]) -> None:
    """Add ``{key: {"zh": ..., "en": ...}}`` entries to the catalogue."""
    for key, texts in messages.items():
        missing = [lang for lang in LANGS if lang not in texts]
        if missing:
            raise KeyError(f"message {key!r} lacks languages {missing}")
        _CATALOGUE[key] = texts


def t(key: str, lang: str | None = "en", **kwargs) -> str:
    """Return message ``key`` in ``lang``, formatted with ``kwargs``."""
    texts = _CATALOGUE[key]
    return texts[normalize_lang(lang)].format(**kwargs)
