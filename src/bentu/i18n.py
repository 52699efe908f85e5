"""The zh/en message catalogue: the one place where bentu decides which language a person reads.

- :func:`tr` picks one of an inline pair, ``tr(lang, "English", "中文")`` (``RunContext.tr`` and
  the model card's ``tr`` call it with their language).
- :func:`register` / :func:`t` hold keyed messages that several places use.
- :func:`is_zh` / :func:`normalize_lang` read a language tag: ``"zh"``, ``"zh-CN"``, ``"zh_TW"``
  are Chinese, anything else (or nothing) is English. No other module compares a tag with
  ``"zh"`` (``tests/test_messages.py`` checks this, and that every pair and every catalogue
  entry has Chinese text in its Chinese half and none in its English half).

Errors carry their own pair (:class:`bentu.errors.BentuError` ``en``, ``zh``) and pick with
:func:`is_zh` too.
"""

from __future__ import annotations

__all__ = ["register", "t", "tr", "is_zh", "normalize_lang", "LANGS"]

LANGS = ("zh", "en")
_CATALOGUE: dict[str, dict[str, str]] = {}


def normalize_lang(lang: str | None) -> str:
    """Map a language tag (``zh-CN``, ``en-US``, ``zh``) to ``"zh"`` or ``"en"``."""
    if not lang:
        return "en"
    return "zh" if is_zh(lang) else "en"


def is_zh(lang: str | None) -> bool:
    """True when ``lang`` is a Chinese tag (``zh``, ``zh-CN``, ``zh_TW``, any case)."""
    return bool(lang) and str(lang).lower().startswith("zh")


def tr(lang: str | None, en: str, zh: str) -> str:
    """``zh`` when ``lang`` is Chinese (:func:`is_zh`), otherwise ``en``."""
    return zh if is_zh(lang) else en


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
