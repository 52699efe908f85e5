"""Mask personal information in text before it is logged or returned (the privacy layer's detector)."""

from __future__ import annotations

import logging
import re

__all__ = ["mask_pii"]

log = logging.getLogger(__name__)
# Long digit runs are masked even when no detector claims them (e.g. an ID number with a bad
# check digit is still somebody's number in a log line).
_DIGITS = re.compile(r"[0-9\uff10-\uff19][0-9\uff10-\uff19 \-]{6,}[0-9\uff10-\uff19]")


def _detect(text: str):
    from bentu.privacy.detectors import detect

    return detect(text)


def mask_pii(text: str) -> str:
    """``text`` with every PII span replaced by ``<TYPE>`` and other long digit runs by ``<NUMBER>``."""
    if not text:
        return text
    text = text.encode("utf-8", "replace").decode("utf-8")  # lone surrogates from JSON become "?"
    spans = _detect(text)
    out, pos = [], 0
    for s in spans:
        out.append(text[pos : s.start])
        out.append(f"<{s.type}>")
        pos = s.end
    out.append(text[pos:])
    return _DIGITS.sub("<NUMBER>", "".join(out))
