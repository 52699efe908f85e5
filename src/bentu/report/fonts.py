"""A font that draws Chinese: Noto Sans CJK (SIL OFL 1.1), shipped as a PyPI package, so figures
with province names or Chinese captions render offline on any machine (:func:`use_cjk_font`), and
so do HTML reports, which embed a subset of it (:func:`embedded_font_css`)."""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import logging
import os
from pathlib import Path

__all__ = ["use_cjk_font", "embedded_font_css"]

log = logging.getLogger(__name__)


@functools.cache
def use_cjk_font() -> str | None:
    """Register Noto Sans CJK with matplotlib and put it first in ``font.sans-serif``.

    Returns the family name, or None (with a warning) when the font package is missing.
    """
    import matplotlib
    from matplotlib import font_manager

    try:
        import manimgx_fonts_cjk
    except ImportError:
        log.warning("Chinese text in plots needs the 'manimgx-fonts-cjk' package (pip install manimgx-fonts-cjk).")
        return None
    font = Path(manimgx_fonts_cjk.__file__).parent / "NotoSansCJK-VF.otf.ttc"
    font_manager.fontManager.addfont(str(font))
    family = "Noto Sans CJK SC"
    matplotlib.rcParams["font.sans-serif"] = [family, *matplotlib.rcParams["font.sans-serif"]]
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)  # weight fallback notices
    return family


@functools.cache
def _font_path() -> Path | None:
    try:
        import manimgx_fonts_cjk
    except ImportError:
        return None
    return Path(manimgx_fonts_cjk.__file__).parent / "NotoSansCJK-VF.otf.ttc"


#: Index of Noto Sans CJK SC (simplified Chinese glyph forms) in the bundled collection.
_SC_INDEX = 2


def _cache_dir() -> Path:
    return Path(os.environ.get("BENTU_CACHE") or Path.home() / ".cache" / "bentu") / "fonts"


def embedded_font_css(text: str, family: str = "bentu-cjk") -> str:
    """An ``@font-face`` rule embedding Noto Sans CJK SC, subset to the characters of ``text``.

    A static regular instance (WOFF, base64; browsers draw bold from it; the variable font itself
    renders as empty boxes at some sizes in Chromium), so a page's Chinese renders on a machine
    with no CJK font installed, with no network access. Subsets are cached under
    ``$BENTU_CACHE/fonts`` by their character set. Returns "" when ``text`` holds no character
    outside ASCII, or (with a warning) when the font package is missing.
    """
    chars = sorted({ord(c) for c in text if ord(c) > 0x7F} | set(range(0x20, 0x7F)))
    path = _font_path()
    if len(chars) == 0x7F - 0x20:
        return ""
    if path is None:
        log.warning("Chinese text in reports needs the 'manimgx-fonts-cjk' package (pip install manimgx-fonts-cjk).")
        return ""
    key = hashlib.sha256(",".join(map(str, chars)).encode()).hexdigest()[:24]
    cached = _cache_dir() / f"noto-sc-{key}.woff"
    try:
        data = cached.read_bytes()
    except OSError:
        data = _subset_woff(path, chars)
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, cached)
        except OSError as err:  # a read-only home: embed without caching
            log.info("font subset not cached: %s", err)
    b64 = base64.b64encode(data).decode("ascii")
    return (f"@font-face{{font-family:'{family}';src:url(data:font/woff;base64,{b64}) format('woff');"
            f"font-weight:400;font-display:block;unicode-range:{CJK_RANGES}}}")


#: The characters the embedded font draws (CJK, its punctuation, full-width forms); Latin text
#: keeps the reader's own fonts.
CJK_RANGES = "U+2E80-2FFF,U+3000-9FFF,U+F900-FAFF,U+FE30-FE4F,U+FF00-FFEF,U+20000-2FFFF"


def _subset_woff(path: Path, chars: list[int]) -> bytes:
    from fontTools import subset
    from fontTools.ttLib import TTFont
    from fontTools.varLib import instancer

    font = TTFont(str(path), fontNumber=_SC_INDEX, lazy=True)
    options = subset.Options()
    options.layout_features, options.notdef_outline = ["*"], True
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=chars)
    subsetter.subset(font)
    buf = io.BytesIO()
    font.save(buf)  # a small variable font, reloaded in full for the instancer
    buf.seek(0)
    static = instancer.instantiateVariableFont(TTFont(buf), {"wght": 400}, static=True, optimize=False)
    static.flavor = "woff"
    out = io.BytesIO()
    static.save(out)
    return out.getvalue()
