"""A font that draws Chinese in plots: Noto Sans CJK (SIL OFL 1.1), shipped as a PyPI package,
so figures with province names or Chinese captions render offline on any machine."""

from __future__ import annotations

import functools
import logging
from pathlib import Path

__all__ = ["use_cjk_font"]

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
